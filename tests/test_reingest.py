"""Re-ingestion admins can trust: incremental, idempotent, crash-safe, with a change report and history."""
from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.index.history import History
from assistant.index.store import IndexFolder, check_consistency, read_manifest, write_manifest
from ingest.links import LINKS_VERSION

from .conftest import ROOT, cli_env

ORDINANCE = "ordinances/가온시_노인복지_증진_조례.md"
EXTRA = ROOT / "tests" / "reingest_docs"  # real ordinances added to the bundled corpus by these tests


def fresh_assistant(assistant: Assistant, index: Path, corpus: Path) -> Assistant:
    """A second index over a copy of the corpus, sharing the loaded models and the embedding cache."""
    index.mkdir(parents=True, exist_ok=True)
    shutil.copy(assistant.settings.index_dir / "cache.sqlite", index / "cache.sqlite")
    return assistant.clone(index_dir=index, corpus_dir=corpus)


def edit_article(corpus: Path) -> str:
    """Change 제5조 of an ordinance and return a phrase that only the old version had."""
    path = corpus / ORDINANCE
    text = path.read_text(encoding="utf-8")
    start = text.index("##### 제5조")
    end = text.index("#####", start + 5)
    old_body = text[start:end]
    new_body = old_body.split("\n", 1)[0] + "\n\n이 조는 시연을 위하여 전부 개정되었다. 경로당 운영비는 분기마다 지급한다.\n\n"
    path.write_text(text[:start] + new_body + text[end:], encoding="utf-8")
    return [line for line in old_body.splitlines()[1:] if len(line.strip()) > 20][0].strip()


def test_modify_delete_add_rename_cycle(assistant, corpus_copy, tmp_path):
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    first = bot.ingest()
    assert first.embedded == 0 and len(first.added) == len(assistant.first_report.added)
    old_phrase = edit_article(corpus_copy)
    (corpus_copy / "welfare" / "주거급여.md").unlink()
    (corpus_copy / "welfare" / "기초연금.md").rename(corpus_copy / "welfare" / "기초연금_안내.md")
    shutil.copy(EXTRA / "ordinance_수원시_경로당_지원_조례.md", corpus_copy / "ordinances")
    report = bot.ingest()
    assert report.updated == (ORDINANCE,)
    assert report.changes[ORDINANCE] == ["제5조 개정"]
    assert report.removed == ("welfare/주거급여.md",)
    assert report.added == ("ordinances/ordinance_수원시_경로당_지원_조례.md",)
    assert report.renamed == (("welfare/기초연금.md", "welfare/기초연금_안내.md"),)
    assert 0 < report.embedded < 20  # only the new article and the new ordinance
    check_consistency(bot.settings.index_dir)
    sources = {c.source for c in bot.index.chunks}
    assert "welfare/주거급여.md" not in sources and "welfare/기초연금.md" not in sources
    for hit in bot.retrieve("주거급여 임차료 지원 대상", 10) + bot.retrieve(old_phrase, 10):
        assert hit.chunk.source != "welfare/주거급여.md"
        assert old_phrase not in hit.chunk.text
    # the amended article is flagged in answers, and its old text stays available to staff
    answer = bot.ask("가온시 노인복지 증진 조례 제5조는 무엇을 정하나요?")
    assert "최근 반영된 개정" in answer.answer
    with History(bot.settings.index_dir) as history:
        previous = history.previous("가온시 노인복지 증진 조례", "제5조")
    assert previous and old_phrase in previous[0]["text"]
    old = bot.ask("가온시 노인복지 증진 조례 개정 전 제5조는 어떤 내용이었나요?")
    assert old.model == "history" and "개정 전" in old.answer and old_phrase.lstrip("①②③ ")[:15] in old.answer
    runs = bot.history()
    assert runs[0]["report"]["updated"] == 1 and {c["change"] for c in runs[0]["changes"]} >= {"updated", "removed"}


def test_second_run_is_all_unchanged_and_writes_nothing(assistant, corpus_copy, tmp_path):
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    first = bot.ingest()
    again = bot.ingest()
    assert again.added == again.updated == again.removed == ()
    assert again.embedded == 0 and again.generation == first.generation
    dry = bot.ingest(dry_run=True)
    assert dry.dry_run and dry.generation == first.generation


def test_links_from_an_older_extractor_are_remade_though_no_document_changed(assistant, tmp_path):
    """A generation whose links an older extraction read (its manifest says so) is re-linked by the next ingest:
    the new generation's links are what this version reads, and nothing is embedded again."""
    family = tmp_path / "family"
    shutil.copytree(ROOT / "tests" / "statute_family", family)
    bot = fresh_assistant(assistant, tmp_path / "ix", family)
    first = bot.ingest()
    gen = bot.settings.index_dir / first.generation
    manifest = read_manifest(gen)
    assert manifest["links_version"] == LINKS_VERSION
    (gen / "links.json").write_text("[]", encoding="utf-8")
    write_manifest(gen, manifest | {"links_version": LINKS_VERSION - 1})  # sealed again: an intact older index
    again = bot.ingest()
    assert again.generation != first.generation and again.embedded == 0
    links = json.loads((bot.settings.index_dir / again.generation / "links.json").read_text(encoding="utf-8"))
    assert links, "the re-linked generation has the links this version reads"


def test_keep_missing_and_single_files_do_not_delete(assistant, corpus_copy, tmp_path):
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    bot.ingest()
    extra = tmp_path / "extra.md"
    shutil.copy(EXTRA / "ordinance_수원시_공영장례_지원에_관한_조례.md", extra)
    report = bot.ingest([extra])
    assert report.added == ("extra.md",) and report.removed == ()
    report = bot.ingest([corpus_copy / "welfare"], keep_missing=True)
    assert report.removed == ()


def run_ingest(index: Path, corpus: Path, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(index),
                             "--json", "--quiet"], env=cli_env(PYTHONPATH=str(ROOT), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("point", ["parsed", "embedded", "written", "renamed", "published"])
def test_kill_9_at_each_step_leaves_a_loadable_index(assistant, corpus_copy, tmp_path, point):
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    before = bot.ingest()
    edit_article(corpus_copy)
    (corpus_copy / "welfare" / "주거급여.md").unlink()
    proc = run_ingest(bot.settings.index_dir, corpus_copy, ASSISTANT_CRASH_AT=point)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    state = check_consistency(bot.settings.index_dir)
    expected = before.generation if point in ("parsed", "embedded", "written", "renamed") else state["generation"]
    assert state["generation"] == expected
    assert state["documents"] == len(before.added) - (point == "published")
    after = bot.ingest()  # the next run finishes the job and cleans up what the crash left
    check_consistency(bot.settings.index_dir)
    assert after.removed == (() if point == "published" else ("welfare/주거급여.md",))
    assert not list(bot.settings.index_dir.glob(".building-*"))


def test_kill_9_at_random_moments(assistant, corpus_copy, tmp_path):
    """A few random kills (scripts/crash_test.py runs as many as you like)."""
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    bot.ingest()
    rng = random.Random(7)
    for i in range(3):
        (corpus_copy / "ordinances" / f"extra{i}.md").write_text(
            f"# 가온시 시험 조례 {i}\n\n##### 제1조 (목적)\n\n이 조례는 시험 {i}을 위한 것이다.\n", encoding="utf-8")
        proc = run_ingest(bot.settings.index_dir, corpus_copy)
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        check_consistency(bot.settings.index_dir)


def test_concurrent_ingest_fails_clearly(assistant, corpus_copy, tmp_path):
    bot = fresh_assistant(assistant, tmp_path / "ix", corpus_copy)
    bot.ingest()
    with IndexFolder(bot.settings.index_dir).lock():
        proc = run_ingest(bot.settings.index_dir, corpus_copy)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "진행 중" in err
