"""files -> index -> retrieval -> answer with citations, on the bundled corpus with the real models."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from assistant.errors import BadQuestion, IndexBusy, IndexMismatch
from assistant.evaluation.evaluate import first_hit_rank, load_qa
from assistant.index.store import IndexFolder, write_manifest

from .conftest import CORPUS, ROOT, cli_env


def test_bundled_corpus_ingests_without_failures(assistant):
    report = assistant.first_report
    assert report.failed == ()
    assert report.chunks > 50
    assert len(report.added) >= 11  # 4 ordinances, 1 manual, 6+ welfare guides
    types = {d["doc_type"] for d in assistant.index.documents}
    assert {"ordinance", "manual", "welfare"} <= types


def test_retrieval_finds_the_answering_article(assistant):
    items = [x for x in load_qa(CORPUS / "qa.jsonl") if x["doc"]]
    ranks = [first_hit_rank(assistant.retrieve(x["question"], 5), x) for x in items]
    recall = sum(1 for r in ranks if r) / len(items)
    assert recall >= 0.8, list(zip([x["id"] for x in items], ranks))


def test_ask_cites_real_articles_with_exact_quotes(assistant):
    item = next(x for x in load_qa(CORPUS / "qa.jsonl") if x["doc"] and x["kind"] == "fact")
    answer = assistant.ask(item["question"])
    assert not answer.refused
    assert answer.citations
    texts = {(c.source, c.text) for c in assistant.index.chunks}
    anchors = {(c.source, c.anchor) for c in assistant.index.chunks}
    for cit in answer.citations:
        assert any(src == cit.source and cit.quote in text for src, text in texts)
        base = cit.anchor.split(" 제")[0] if cit.anchor.startswith("제") else cit.anchor.split(" > ")[0]
        assert any(src == cit.source and a.startswith(base) for src, a in anchors)
        assert cit.label in answer.answer
    assert any("\uac00" <= ch <= "\ud7a3" for ch in answer.answer)
    assert answer.timings_ms["first_token"] <= answer.timings_ms["total"]


def test_out_of_corpus_question_is_refused_with_a_department(assistant):
    answer = assistant.ask("국가유공자 보훈급여금은 어디에서 신청하나요?")
    assert answer.refused
    assert answer.citations == ()
    assert "문서에서 확인할 수 없습니다" in answer.answer
    assert answer.referral and answer.referral["department"]


def test_bad_questions_get_a_korean_error(assistant):
    with pytest.raises(BadQuestion, match="질문"):
        assistant.ask("   ")
    with pytest.raises(BadQuestion, match="너무 깁니다"):
        assistant.ask("가" * 5000)


def test_pdf_chunks_keep_page_numbers(assistant):
    pdf_chunks = [c for c in assistant.index.chunks if c.source.endswith(".pdf")]
    assert pdf_chunks, "the bundled corpus ships welfare guides as PDF"
    assert all(c.page and c.page >= 1 for c in pdf_chunks)
    assert max(c.page for c in pdf_chunks) >= 2


def test_reingest_of_unchanged_corpus_embeds_nothing(assistant):
    report = assistant.ingest()
    assert report.embedded == 0
    assert report.added == report.updated == report.removed == ()
    assert len(report.unchanged) == len(assistant.first_report.added)


def test_manifest_mismatch_is_a_clear_error(assistant, tmp_path):
    copy = tmp_path / "ix"
    shutil.copytree(assistant.settings.index_dir, copy)
    gen = IndexFolder(copy).current()
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["embedding"]["model"] = "another-model"
    write_manifest(gen, manifest)  # sealed as an ingest with that model would (a hand edit reads as damage)
    other = assistant.clone(index_dir=copy)  # same loaded model, no second load
    with pytest.raises(IndexMismatch, match="다시 만들어"):
        other.retrieve("기초연금")


def test_second_writer_fails_clearly(assistant):
    with IndexFolder(assistant.settings.index_dir).lock():
        with pytest.raises(IndexBusy, match="진행 중"):
            assistant.ingest()


def offline_prefix() -> list[str]:
    """Run in a network namespace with no interfaces when we may; the socket guard applies either way."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True) if shutil.which("unshare") else None
    return ["unshare", "-n"] if probe is not None and probe.returncode == 0 else []


def test_cli_ingest_and_ask_work_with_networking_disabled(tmp_path):
    env = cli_env(PYTHONPATH=f"{ROOT / 'tests' / 'netguard'}:{ROOT}", HF_HUB_OFFLINE="0")
    index = tmp_path / "ix"
    base = offline_prefix() + [sys.executable, "-m", "assistant"]
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in sorted(p for p in (CORPUS / "welfare").iterdir() if p.suffix == ".md")[:2]:
        shutil.copy(name, docs)
    out = subprocess.run(base + ["ingest", str(docs), "--index", str(index), "--json", "--quiet"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["chunks"] > 0 and report["failed"] == []
    out = subprocess.run(base + ["ask", "지원 대상은 누구인가요?", "--index", str(index), "--json"], env=env,
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert set(answer) >= {"answer", "citations", "refused", "referral", "model", "timings_ms"}
    assert answer["model"] == "extractive"
