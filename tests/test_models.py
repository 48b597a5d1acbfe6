"""Models other than the packaged embedder: a local sentence-transformers folder end to end (ingest, ask, info)
with the network cut off, the model change refused with the Korean re-ingest message, and a local cross-encoder
re-scoring the fused candidates. The tiny models are built here with random weights (see tiny_models.py): they
check the code path, not retrieval quality."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.errors import IndexMismatch
from assistant.evaluation.evaluate import WITHOUT_RERANKER, run_eval
from assistant.governance import register

from .conftest import CORPUS, ROOT, cli_env
from .tiny_models import tiny_cross_encoder, tiny_embedder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"embedder": tiny_embedder(root), "reranker": tiny_cross_encoder(root)}


def offline(command: list[str]) -> list[str]:
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", *command]
    return command


def run_cli(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(offline([sys.executable, "-m", "assistant", *args]), capture_output=True, text=True,
                          timeout=300, env=cli_env(PYTHONPATH=str(ROOT), ASSISTANT_AUDIT_ENABLED="0", **env))


def test_a_local_embedder_folder_ingests_answers_and_is_recorded_offline(tiny, tmp_path):
    index = str(tmp_path / "index")
    model = {"ASSISTANT_EMBED_MODEL": str(tiny["embedder"]), "ASSISTANT_EMBED_BACKEND": "torch"}
    done = run_cli("ingest", str(CORPUS), "--index", index, "--json", **model)
    assert done.returncode == 0, done.stderr
    asked = run_cli("ask", "기초연금은 몇 살부터 받을 수 있나요?", "--index", index, "--json", **model)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answer"]
    info = json.loads(run_cli("info", "--index", index, "--json", **model).stdout)
    assert info["embedder"]["library"] == "sentence-transformers"
    assert info["embedder"]["model"] == str(tiny["embedder"]) and info["embedder"]["dim"] == 32
    assert info["embedder"]["backend"] == "torch" and info["embedder"]["device"] == "cpu"
    assert info["index_embedder"]["model"] == info["embedder"]["model_id"]
    assert info["index_embedder"]["weights_sha256"] == info["embedder"]["weights_sha256"]
    assert info["reranker"] is None
    # the packaged model on this index: refused with the re-ingest message, never mixed
    refused = run_cli("ask", "기초연금은 몇 살부터 받을 수 있나요?", "--index", index)
    assert refused.returncode != 0
    assert "다른 임베딩 모델" in refused.stderr and "다시 만들어 주세요" in refused.stderr


def test_model_change_is_detected_in_process(tiny, assistant):
    other = Assistant(assistant.settings.replace(embed_model=str(tiny["embedder"]), embed_backend="torch"))
    with pytest.raises(IndexMismatch, match="다른 임베딩 모델"):
        other.retrieve("기초연금")


def test_a_local_cross_encoder_orders_the_fused_candidates(tiny, assistant):
    plain = assistant.clone(reranker_model="")
    question = "기초연금은 몇 살부터 받을 수 있나요?"
    before = plain.retrieve(question, k=8)
    deciding = assistant.clone(reranker_model=str(tiny["reranker"]), reranker_depth=8, reranker_weight=1e6)
    hits = deciding.retrieve(question, k=8)
    assert {h.row for h in hits} == {h.row for h in before}  # same candidates, re-ordered
    assert [h.ranks["reranker"] for h in hits] == list(range(1, 9))  # a large weight: its order
    scores = deciding.reranker.scores(question, [h.chunk.embed_text for h in hits])
    assert np.all(np.diff(scores) <= 1e-6) and np.allclose(scores, [h.judge for h in hits], atol=1e-5)
    assert {h.row: h.score for h in hits} == {h.row: h.score for h in before}  # the fused score stays on each hit
    silent = deciding.clone(reranker_weight=0.0).retrieve(question, k=8)  # weight 0: the fused order, judged
    assert [h.row for h in silent] == [h.row for h in before] and all(h.judge is not None for h in silent)
    assert deciding.info()["reranker"]["library"] == "sentence-transformers"
    models = {m["role"]: m for m in register._models(deciding)}
    assert models["재순위(교차 인코더)"]["weights_sha256"] == deciding.reranker.checksum


def test_eval_reports_with_and_without_the_reranker(tiny, assistant):
    ranked = assistant.clone(reranker_model=str(tiny["reranker"]))
    result = run_eval(ranked, CORPUS / "qa.jsonl", generate=False)
    assert set(result["by_retriever"]) == {"hybrid", "dense", "keyword", WITHOUT_RERANKER}
    assert result["reranker"]["model"] == str(tiny["reranker"])
    plain = run_eval(assistant.clone(reranker_model=""), CORPUS / "qa.jsonl", generate=False)
    assert result["by_retriever"][WITHOUT_RERANKER] == plain["by_retriever"]["hybrid"]


def test_bench_measures_the_reranker_against_the_same_questions_without_it(tiny, assistant):
    from assistant.evaluation.bench import bench_without_reranker

    ranked = assistant.clone(reranker_model=str(tiny["reranker"]))
    plain = bench_without_reranker(ranked, ["기초연금은 몇 살부터 받을 수 있나요?", "아동수당은 언제 주나요?"], True)
    assert plain["retrieve_ms"]["p50"] > 0 and plain["first_token_ms"] > 0
    assert ranked.reranker is not None  # the clone without it leaves the original as it was


def test_reranker_folder_missing_is_a_korean_error(tmp_path):
    from assistant.errors import ModelMissing

    bot = Assistant(Settings.load(env={}, index_dir=tmp_path, reranker_model=str(tmp_path / "nowhere")))
    with pytest.raises(ModelMissing, match="재순위 모델 폴더"):
        bot.reranker
