"""The Milvus vector store (milvus-lite here) against FAISS flat, on the real vectors of the bundled corpus."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'sovereign-assistant[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install 'sovereign-assistant[milvus]')")

from assistant import Settings  # noqa: E402
from assistant.index import milvus_store  # noqa: E402
from assistant.index.dense import DenseIndex  # noqa: E402
from assistant.evaluation.evaluate import first_hit_rank, load_qa  # noqa: E402
from assistant.index.milvus_store import (  # noqa: E402
    LITE_FILE, POINTER_FILE, MilvusBackend, MilvusDenseIndex, filter_expression, load_dense_index, make_dense_index)

from .conftest import CORPUS  # noqa: E402

HAS_SETTING = "vector_store" in {f.name for f in dataclasses.fields(Settings)}


def _questions(n=10) -> list[str]:
    return [x["question"] for x in load_qa(CORPUS / "qa.jsonl")][:n]


@pytest.fixture(scope="module")
def vectors(assistant) -> np.ndarray:
    return np.load(assistant.index.root / assistant.index.generation / "vectors.npy")


@pytest.fixture(scope="module")
def saved(vectors, tmp_path_factory):
    folder = tmp_path_factory.mktemp("milvus-gen")
    index = MilvusDenseIndex.build(vectors, 2)
    index.save(folder)
    yield folder, index
    index.close()


@pytest.fixture(scope="module")
def flat(vectors) -> DenseIndex:
    return DenseIndex.build(vectors, 2, kind="flat")


def test_same_top5_as_faiss_flat_on_real_queries(assistant, saved, flat):
    _, index = saved
    assert index.kind == "milvus-lite" and index.size == flat.size
    for q in _questions():
        query = assistant.embedder.query(q)
        got, want = index.search(query, 5), flat.search(query, 5)
        assert [r for r, _ in got] == [r for r, _ in want], q
        assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-4)


def test_allowed_mask_is_honoured(assistant, saved, flat):
    _, index = saved
    rng = np.random.default_rng(7)
    masks = [rng.random(flat.size) < 0.3, rng.random(flat.size) < 0.95, ~assistant.index.addenda,
             np.isin(assistant.index.doc_type, ["welfare"])]
    for mask, q in zip(masks, _questions(len(masks))):
        query = assistant.embedder.query(q)
        got = index.search(query, 8, mask)
        assert got and all(mask[r] for r, _ in got)
        assert [r for r, _ in got] == [r for r, _ in flat.search(query, 8, mask)]
    query = assistant.embedder.query(_questions(1)[0])
    assert index.search(query, 5, np.zeros(flat.size, dtype=bool)) == []
    only = np.zeros(flat.size, dtype=bool)
    only[[3, 17]] = True
    assert sorted(r for r, _ in index.search(query, 5, only)) == [3, 17]


def test_large_allow_lists_fall_back_to_overfetch_and_slices(assistant, saved, flat, monkeypatch):
    _, index = saved
    monkeypatch.setattr(milvus_store, "MAX_EXPR_CHARS", 40)  # no single expression fits: over-fetch, then slices
    rng = np.random.default_rng(3)
    query = assistant.embedder.query(_questions(2)[1])
    for share in (0.5, 0.02):  # over-fetch suffices / too few allowed rows among the fetched: exact slices
        mask = rng.random(flat.size) < share
        mask[rng.integers(flat.size)] = True
        got = index.search(query, 5, mask)
        assert [r for r, _ in got] == [r for r, _ in flat.search(query, 5, mask)]


def test_filter_expression_is_exact():
    mask = np.zeros(40, dtype=bool)
    mask[[1, 2, 5, 6, 7, 8, 20, 39]] = True
    expr = filter_expression(mask)
    assert "row in [1,2,20,39]" in expr and "(row >= 5 and row <= 8)" in expr
    assert filter_expression(~mask).startswith("not (")  # the shorter side is named


def test_save_load_round_trip(assistant, saved, flat):
    folder, index = saved
    assert sorted(p.name for p in folder.iterdir()) == sorted([POINTER_FILE, LITE_FILE])
    assert all(p.is_file() for p in folder.iterdir())  # publish fsyncs every entry as a file
    pointer = json.loads((folder / POINTER_FILE).read_text())
    assert pointer["count"] == flat.size and pointer["metric"] == "IP"
    moved = folder.parent / (folder.name + "-renamed")  # publish renames the generation folder
    shutil.copytree(folder, moved)
    loaded = load_dense_index(None, moved, 2)
    other = load_dense_index(None, moved, 2)  # a second reader (UI + CLI) gets its own copy, no lock clash
    try:
        assert isinstance(loaded, MilvusDenseIndex) and loaded.kind == "milvus-lite" and loaded.size == flat.size
        for q in _questions(3):
            query = assistant.embedder.query(q)
            assert loaded.search(query, 5) == index.search(query, 5) == other.search(query, 5)
    finally:
        loaded.close()
        other.close()
    assert isinstance(load_dense_index(None, assistant.index.root / assistant.index.generation), DenseIndex)


def test_cluster_mode_collection_per_generation(assistant, vectors, tmp_path):
    """The `milvus_uri` path (kind "milvus"), served here by milvus-lite standing in for a cluster."""
    settings = type("S", (), {"vector_store": "milvus", "milvus_uri": str(tmp_path / "cluster.db"),
                              "milvus_collection": "t"})()
    backend = make_dense_index(settings)
    assert isinstance(backend, MilvusBackend)
    gens = [tmp_path / ".building-1", tmp_path / ".building-2"]
    for gen in gens:
        gen.mkdir()
        backend.build(vectors[:50], 2).save(gen)
    pointer = json.loads((gens[0] / POINTER_FILE).read_text())
    assert pointer["collection"] == "t_gen_1" and pointer["uri"] == settings.milvus_uri
    loaded = load_dense_index(settings, gens[1])
    assert loaded.kind == "milvus" and loaded.size == 50
    query = assistant.embedder.query(_questions(1)[0])
    assert [r for r, _ in loaded.search(query, 5)] == [r for r, _ in DenseIndex.build(vectors[:50]).search(query, 5)]
    shutil.rmtree(gens[0])
    assert milvus_store.drop_unused_collections(settings, tmp_path) == ["t_gen_1"]
    loaded.close()


def test_factory_defaults_to_faiss():
    assert make_dense_index(Settings()) is DenseIndex
    assert make_dense_index(None) is DenseIndex


def test_retrieval_through_the_assistant_with_milvus(assistant, tmp_path, monkeypatch):
    """Same check as test_end_to_end::test_retrieval_finds_the_answering_article, with vector_store="milvus"."""
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    shutil.copy(assistant.index.root / "cache.sqlite", index_dir / "cache.sqlite")  # reuse the embeddings
    if HAS_SETTING:
        bot = assistant.clone(index_dir=index_dir, vector_store="milvus")
    else:
        # until Settings has `vector_store` and indexer/retrieve call the factory: route both through Milvus
        from assistant.answering import retrieve
        from assistant.index import indexer

        monkeypatch.setattr(indexer, "DenseIndex", MilvusBackend(None), raising=False)
        monkeypatch.setattr(retrieve, "DenseIndex", MilvusBackend(None), raising=False)
        bot = assistant.clone(index_dir=index_dir)
    bot.ingest()
    assert bot.index.dense.kind == "milvus-lite"
    assert (index_dir / bot.index.generation / LITE_FILE).is_file()
    items = [x for x in load_qa(CORPUS / "qa.jsonl") if x["doc"]]
    ranks = [first_hit_rank(bot.retrieve(x["question"], 5), x) for x in items]
    recall = sum(1 for r in ranks if r) / len(items)
    assert recall >= 0.8, list(zip([x["id"] for x in items], ranks))
    bot.index.dense.close()
