"""Tiny sentence-transformers models built inside the tests: random weights (they exercise the code path of a
local embedder or cross-encoder folder, not its quality) over the packaged model's real tokenizer. Nothing is
downloaded."""
from __future__ import annotations

import shutil
from pathlib import Path

from assistant.index import packaged_model

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _tiny_bert(cls, out: Path, **config) -> Path:
    import torch
    from transformers import BertConfig

    torch.manual_seed(0)  # the same "model" every run
    source = packaged_model.ensure_folder()
    vocab = BertConfig.from_pretrained(source).vocab_size
    model = cls(BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=512, **config))
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, out / name)
    return out


def tiny_embedder(out: Path) -> Path:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertModel

    body = _tiny_bert(BertModel, out / "body")
    model = SentenceTransformer(modules=[Transformer(str(body), max_seq_length=256), Pooling(32, "mean"),
                                         Normalize()])
    model.save(str(out / "tiny-embedder"))
    shutil.rmtree(body)
    return out / "tiny-embedder"


def tiny_cross_encoder(out: Path) -> Path:
    from transformers import BertForSequenceClassification

    return _tiny_bert(BertForSequenceClassification, out / "tiny-reranker", num_labels=1)
