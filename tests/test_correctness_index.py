"""Issue 29, on the bundled corpus with the real models: an ingest never publishes a partial index over a damaged
live generation; the facade serves one generation per load and surfaces what is not damage; the integrity memo
sees a same-size, same-mtime change; an algorithm it cannot compute is a problem, not a pass; only a full disk is
called one."""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import IndexDamaged
from assistant.index import integrity, space
from assistant.index.indexer import Indexer
from assistant.index.store import read_docstore, read_manifest

from .conftest import CORPUS, ROOT, cli_env

GUIDE = "welfare/주거급여.md"


@pytest.fixture(scope="module")
def two(assistant, tmp_path_factory) -> dict:
    """An index of the bundled corpus with two generations: the older intact one and a live one with a sentence
    added to a guide."""
    root = tmp_path_factory.mktemp("correctness")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    index = root / "two"
    shutil.copytree(assistant.settings.index_dir, index)  # reuses the session's embedding cache
    guide = corpus / GUIDE
    guide.write_text(guide.read_text(encoding="utf-8") + "\n\n주거급여 안내는 매년 갱신됩니다.\n", encoding="utf-8")
    report = assistant.clone(index_dir=index, audit_enabled=False).ingest([corpus])
    assert report.updated == (GUIDE,)
    older, live = sorted(p.name for p in index.glob("gen-*"))
    assert integrity.live_name(index) == live
    return {"index": index, "corpus": corpus, "older": older, "live": live}


def copy_index(two: dict, tmp_path: Path, drop_older: bool = False) -> Path:
    index = tmp_path / "index"
    shutil.copytree(two["index"], index)
    if drop_older:
        shutil.rmtree(index / two["older"])
    return index


def sources(gen: Path) -> set[str]:
    return {d["source"] for d in read_docstore(gen)[0]}


# ---------------------------------------------------------------- 1, 2: an ingest over a damaged live generation

def test_ingest_over_a_live_generation_without_manifest_builds_on_the_intact_one(assistant, two, tmp_path):
    """The issue's reproduction: the live manifest deleted, one file ingested with --keep-missing. It used to
    publish a generation of that one file; the new one keeps every document of the older intact generation, and
    its created_at."""
    index = copy_index(two, tmp_path)
    (index / two["live"] / "manifest.json").unlink()
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    report = bot.ingest([two["corpus"] / "welfare" / "기초연금.md"], keep_missing=True)
    new = index / report.generation
    assert integrity.live_name(index) == report.generation
    kept = sources(index / two["older"])
    assert kept < sources(new) and len(kept) == 15
    assert read_manifest(new)["created_at"] == read_manifest(index / two["older"])["created_at"]
    assert integrity.check_generation(new, checksums=True).ok and bot.index_health()["status"] == "ok"


def test_ingest_without_current_builds_on_the_newest_intact_generation(assistant, two, tmp_path):
    """CURRENT deleted (or a first ingest killed between rename and switch) is no "first ingest" either."""
    index = copy_index(two, tmp_path)
    (index / "CURRENT").unlink()
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    report = bot.ingest([two["corpus"] / "welfare" / "기초연금.md"], keep_missing=True)
    assert integrity.live_name(index) == report.generation
    assert sources(index / two["live"]) < sources(index / report.generation)


def test_ingest_with_no_intact_generation_stops_on_the_command_line(two, tmp_path):
    """Nothing intact to build on: a non-zero exit, one Korean line naming the damage and `--rebuild`, and no
    generation published."""
    index = copy_index(two, tmp_path, drop_older=True)
    (index / two["live"] / "manifest.json").unlink()
    before = sorted(p.name for p in index.glob("*gen*"))
    done = subprocess.run([sys.executable, "-m", "assistant", "ingest", str(two["corpus"] / "welfare" / "기초연금.md"),
                           "--keep-missing", "--index", str(index)], capture_output=True, text=True, cwd=ROOT,
                          env=cli_env(), timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    line = [x for x in done.stderr.splitlines() if x.startswith("오류:")]
    assert len(line) == 1 and "manifest.json" in line[0] and "--rebuild" in line[0], done.stderr
    assert sorted(p.name for p in index.glob("*gen*")) == before and integrity.live_name(index) == two["live"]


def test_an_unchanged_corpus_over_a_damaged_live_generation_still_publishes(assistant, two, tmp_path):
    """Nothing changed against the generation built on (the older one), but that is not the live one: a new
    intact generation replaces the damaged live one."""
    index = copy_index(two, tmp_path)
    (index / two["live"] / "vectors.npy").write_bytes(b"damaged")
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    report = bot.ingest([CORPUS])
    assert report.updated == () and report.generation not in (two["live"], two["older"])
    assert bot.index_health()["status"] == "ok"
    assert sources(index / report.generation) == sources(index / two["older"])


def test_created_at_from_an_unreadable_base_manifest_is_an_error(assistant, two, tmp_path):
    """No silent fallback to "now": the base was checked, so failing to read it again is damage, named."""
    index = copy_index(two, tmp_path)
    base = index / two["older"]
    (base / "manifest.json").unlink()
    indexer = Indexer(assistant.settings.replace(index_dir=index), assistant.embedder, assistant.tokenizer)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with pytest.raises(IndexDamaged, match="manifest.json"):
        indexer._manifest([], [], "flat", now, base)


# ---------------------------------------------------------------- 3: loading in the facade

def unseal(gen: Path) -> None:
    """A generation written before checksums were recorded: only its headers are checked."""
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    for key in ("integrity", "manifest_sha256"):
        manifest.pop(key)
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def test_a_read_error_names_its_own_file(assistant, two, tmp_path):
    """keyword_vocab.json cut short in an unsealed generation: the error (no older generation) names that file,
    not a guess from the exception type."""
    index = copy_index(two, tmp_path, drop_older=True)
    gen = index / two["live"]
    unseal(gen)
    vocab = gen / "keyword_vocab.json"
    vocab.write_bytes(vocab.read_bytes()[:-40] + b"}")  # still starts and ends like JSON
    assert integrity.check_generation(gen).ok
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    with pytest.raises(IndexDamaged, match="keyword_vocab.json") as caught:
        bot.index  # noqa: B018
    assert "--rebuild" in str(caught.value)


def test_a_bug_while_loading_surfaces_and_the_generation_is_not_forgotten(assistant, two, tmp_path, monkeypatch):
    """A TypeError from our own code, and an embedder that fails to load, are not a damaged generation: they
    surface as themselves and the live generation is still served."""
    from assistant.answering import retrieve

    index = copy_index(two, tmp_path)
    bot = assistant.clone(index_dir=index, audit_enabled=False)

    def bug(text):
        raise TypeError("a bug, not damage")

    with monkeypatch.context() as patch:
        patch.setattr(retrieve, "compact_title", bug)
        with pytest.raises(TypeError, match="a bug"):
            bot.index  # noqa: B018
    assert bot.index_health()["status"] == "ok" and bot.index.generation == two["live"]

    from assistant.index import embed

    def broken(settings):
        raise RuntimeError("embedder failed to load")

    fresh = type(bot)(bot.settings)  # no shared embedder: it loads inside _load_index
    monkeypatch.setattr(embed.Embedder, "from_settings", staticmethod(broken))
    with pytest.raises(RuntimeError, match="embedder failed"):
        fresh.index  # noqa: B018
    assert fresh.index_health()["status"] == "ok"


def test_the_generation_loaded_is_the_one_served(assistant, two, tmp_path, monkeypatch):
    """A publish between the facade's check and the load used to pair two generations (the facade's `forget`
    aimed at one, the files read from another): the index loaded is the generation served."""
    index = copy_index(two, tmp_path)
    (index / "CURRENT").write_text(two["older"], encoding="utf-8")
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    real, served = integrity.serve, []

    def serve_then_publish(root):
        got = real(root)
        if not served:
            (index / "CURRENT").write_text(two["live"], encoding="utf-8")  # an ingest publishes right now
        served.append(got.generation.name)
        return got

    monkeypatch.setattr(integrity, "serve", serve_then_publish)
    assert bot.index.generation == served[0] == two["older"]
    assert bot.index.generation == two["live"]  # the next question sees the publish


def test_unreadable_current_does_not_reload_every_question(assistant, two, tmp_path):
    index = copy_index(two, tmp_path)
    (index / "CURRENT").write_bytes(b"\xff\xfe")
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    first = bot.index
    assert first.generation == two["live"] and bot.index_health()["status"] == "degraded"
    assert bot.index is first


# ---------------------------------------------------------------- 4: the integrity memo

def test_same_size_same_mtime_change_is_seen_in_the_same_process(two, tmp_path):
    index = copy_index(two, tmp_path)
    gen = index / two["live"]
    assert integrity.checked(gen).ok
    time.sleep(0.05)  # past the filesystem clock's tick, so the write gives a new ctime
    path = gen / "vectors.npy"
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[-8:] = bytes(b ^ 0xFF for b in data[-8:])
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` or `rsync -t` leave it
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    check = integrity.checked(gen)
    assert not check.ok and check.problems[0].file == "vectors.npy"


# ---------------------------------------------------------------- 5: checksum algorithms

def reseal_with(gen: Path, algorithm: str) -> None:
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["integrity"]["algorithm"] = algorithm
    manifest["manifest_sha256"] = integrity.manifest_digest(manifest)
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def test_an_unknown_checksum_algorithm_is_a_problem(two, tmp_path):
    index = copy_index(two, tmp_path)
    gen = index / two["live"]
    reseal_with(gen, "sha3-999")
    for checksums in (None, True):
        check = integrity.check_generation(gen, checksums=checksums)
        assert not check.ok and "sha3-999" in str(check.problems[0]), check


def test_xxhash_missing_is_a_problem_not_a_traceback(two, tmp_path, monkeypatch):
    index = copy_index(two, tmp_path)
    gen = index / two["live"]
    reseal_with(gen, "xxh3_64")
    monkeypatch.setitem(sys.modules, "xxhash", None)  # import xxhash now raises ImportError
    check = integrity.check_generation(gen)
    assert not check.ok and "xxh3_64" in str(check.problems[0])


def test_readme_states_the_codes_checksum_limits():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for limit in integrity.LOAD_CHECKSUM_BYTES.values():
        assert f"{limit // 2**30} GiB" in readme


# ---------------------------------------------------------------- 6: what counts as a full disk

def test_only_a_full_disk_is_called_one(tmp_path, monkeypatch):
    monkeypatch.setattr(space.shutil, "disk_usage", lambda root: shutil._ntuple_diskusage(10**9, 10**9, 0))
    assert not space.is_disk_full(PermissionError(errno.EACCES, "Permission denied"), tmp_path)
    assert not space.is_disk_full(OSError(errno.EIO, "Input/output error"), tmp_path)
    assert not space.is_disk_full(RuntimeError("faiss: bad index"), tmp_path)
    assert space.is_disk_full(OSError(errno.ENOSPC, "No space left on device"), tmp_path)
    assert space.is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path)
    assert space.is_disk_full(sqlite3.OperationalError("database or disk is full"), tmp_path)
    assert space.is_disk_full(sqlite3.OperationalError("disk I/O error"), tmp_path)  # its -shm could not grow
