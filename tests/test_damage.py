"""Damaged files and a full disk (issue 24), on the bundled corpus with the real models: every single-file damage of
the live generation ends in the intact answer (an older intact generation served) or in a Korean error with a
non-zero exit — never a wrong answer, never a traceback; `index verify` names each damaged file; a re-ingest that
fills a small real filesystem (a tmpfs in its own mount namespace) leaves it as it was and the index answering."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.entrypoints.cli import main as cli_main
from assistant.errors import AssistantError
from assistant.index.integrity import check_generation, live_name

from .conftest import CORPUS, ROOT, cli_env

QUESTION = "기초연금은 몇 살부터 받을 수 있나요?"
FILES = ("manifest.json", "docstore.sqlite", "vectors.npy", "dense.faiss", "keyword.npz", "keyword_vocab.json",
         "welfare.json")
HANGUL = re.compile("[가-힣]")


def flip(path: Path) -> None:
    """Bit rot: 16 bytes inverted in the middle of the file (a vector, a page of rows, a run of JSON)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 16, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    """A half-copied or half-restored file."""
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


DAMAGES = {"flip": flip, "truncate": truncate}


@pytest.fixture(scope="module")
def indexes(assistant, tmp_path_factory) -> dict:
    """Two indexes of the bundled corpus: one keeping an older intact generation (ingested twice, the second time
    with a sentence added to a guide the question does not touch), and one with the live generation alone."""
    root = tmp_path_factory.mktemp("damage")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    two = root / "two"
    shutil.copytree(assistant.settings.index_dir, two)  # reuses the session's embedding cache
    bot = assistant.clone(index_dir=two, audit_enabled=False)
    guide = corpus / "welfare" / "주거급여.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\n\n주거급여 안내는 매년 갱신됩니다.\n", encoding="utf-8")
    report = bot.ingest([corpus])
    assert report.updated == ("welfare/주거급여.md",) and report.embedded >= 1
    gens = sorted(p.name for p in two.glob("gen-*"))
    assert len(gens) == 2 and live_name(two) == gens[-1]
    one = root / "one"
    shutil.copytree(two, one)
    shutil.rmtree(one / gens[0])
    intact = bot.ask(QUESTION)
    assert not intact.refused and "65세" in intact.answer
    return {"two": two, "one": one, "answer": intact.answer, "citations": intact.citations, "older": gens[0]}


def damaged_copy(indexes: dict, kind: str, file: str, damage: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{kind}-{file}-{damage}"
    shutil.copytree(indexes[kind], target)
    DAMAGES[damage](target / live_name(target) / file)
    return target


@pytest.mark.parametrize("kind", ["two", "one"])
def test_every_single_file_damage_answers_intact_or_fails_in_korean(assistant, indexes, kind, tmp_path):
    """In-process over every file × (bytes flipped, truncated): the intact answer from the older generation
    ('two'), or a typed Korean error naming the file ('one'). Anything else is a wrong answer or a crash."""
    outcomes = {"older": 0, "error": 0}
    for file in FILES:
        for damage in DAMAGES:
            index = damaged_copy(indexes, kind, file, damage, tmp_path)
            bot = assistant.clone(index_dir=index, audit_enabled=False)
            try:
                answer = bot.ask(QUESTION)
            except AssistantError as exc:  # any other exception fails the test: it would be a traceback
                assert kind == "one", f"{file} {damage}: an older intact generation was kept but not served: {exc}"
                assert HANGUL.search(str(exc)) and file in str(exc), str(exc)
                assert "--rebuild" in str(exc)
                outcomes["error"] += 1
                continue
            assert kind == "two", f"{file} {damage}: answered from a damaged generation"
            assert (answer.answer, answer.citations) == (indexes["answer"], indexes["citations"]), \
                f"{file} {damage}: wrong answer"
            health = bot.index_health()
            assert health["status"] == "degraded" and health["served_generation"] == indexes["older"]
            assert file in health["reason"] and bot.info()["integrity"]["status"] == "degraded"
            outcomes["older"] += 1
    total = len(FILES) * len(DAMAGES)
    assert outcomes == ({"older": total, "error": 0} if kind == "two" else {"older": 0, "error": total})


def run_cli(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=ROOT,
                          env=cli_env(**env), timeout=300)


@pytest.mark.parametrize("kind,file,damage", [("two", "dense.faiss", "flip"), ("one", "docstore.sqlite", "flip"),
                                              ("one", "dense.faiss", "truncate"), ("one", "manifest.json", "flip")])
def test_ask_on_the_command_line(indexes, kind, file, damage, tmp_path):
    """As an operator would see it: `assistant ask` exits 0 with the intact answer, or non-zero with one Korean
    line naming the file — no traceback (the bit flip in dense.faiss used to give a confident wrong answer)."""
    index = damaged_copy(indexes, kind, file, damage, tmp_path)
    done = run_cli("ask", QUESTION, "--index", str(index), "--json")
    assert "Traceback" not in done.stderr
    if kind == "two":
        assert done.returncode == 0, done.stderr
        assert '"index.degraded"' in done.stderr and file in done.stderr  # the log line says why
        assert json.loads(done.stdout)["answer"] == indexes["answer"]
    else:
        assert done.returncode != 0 and done.stdout == ""
        line = [x for x in done.stderr.splitlines() if x.startswith("오류:")]
        assert len(line) == 1 and file in line[0] and "--rebuild" in line[0], done.stderr
    if file == "docstore.sqlite":  # --verbose: the traceback goes to the (JSON) log, the message stays one line
        verbose = run_cli("ask", QUESTION, "--index", str(index), "--verbose")
        assert verbose.returncode == done.returncode and '"exc": "Traceback' in verbose.stderr


@pytest.mark.parametrize("file", FILES)
def test_index_verify_names_each_damaged_file(indexes, file, tmp_path, capsys):
    index = damaged_copy(indexes, "two", file, "flip", tmp_path)
    assert cli_main(["index", "verify", "--index", str(index)]) == 1
    err = capsys.readouterr().err
    assert f"{live_name(index)}/{file}" in err and "Traceback" not in err
    assert indexes["older"] not in err  # the older generation checks out
    assert cli_main(["index", "verify", "--index", str(indexes["two"]), "--json"]) == 0


def test_rebuild_replaces_a_damaged_live_generation(assistant, indexes, tmp_path):
    """`ingest --rebuild` writes a fresh generation from the documents (embeddings from the cache) and the index
    is whole again; a plain ingest over a damaged live generation with no intact one refuses, naming the fix."""
    index = damaged_copy(indexes, "one", "docstore.sqlite", "truncate", tmp_path)
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    with pytest.raises(AssistantError, match="--rebuild"):
        bot.ingest([corpus])
    report = bot.ingest([corpus], rebuild=True)
    assert report.rebuilt and report.embedded <= 1 and live_name(index) == report.generation
    assert check_generation(index / report.generation, checksums=True).ok
    assert bot.index_health()["status"] == "ok"
    assert "65세" in bot.ask(QUESTION).answer


def test_rebuild_sets_a_damaged_cache_aside(assistant, indexes, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(indexes["one"], index)
    with open(index / "cache.sqlite", "r+b") as fh:
        fh.write(b"not a database at all")
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    report = bot.ingest([CORPUS], rebuild=True)
    assert report.cache_set_aside and report.embedded > 0
    assert list(index.glob("cache.sqlite.damaged-*")) and cli_main(["index", "verify", "--index", str(index)]) == 0


def test_prune_keeps_the_last_intact_generation(assistant, indexes, tmp_path):
    """With the newer of two kept generations damaged, a new ingest keeps the intact older one as its fallback
    and drops the damaged one."""
    index = tmp_path / "index"
    shutil.copytree(indexes["two"], index)
    older, damaged = sorted(p.name for p in index.glob("gen-*"))
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    flip(index / damaged / "vectors.npy")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "extra.md").write_text("# 추가 안내\n\n가온시 청사 주차장은 평일 오전 8시부터 운영합니다.\n",
                                     encoding="utf-8")
    report = bot.ingest([corpus])
    assert sorted(p.name for p in index.glob("gen-*")) == [older, report.generation]


# ---------------------------------------------------------------- a full disk, for real

NAMESPACE_SCRIPT = textwrap.dedent("""\
    set -u
    SRC=$1; CORPUS=$2; BIG=$3; OUT=$4; PY=$5  # this interpreter, not `assistant` from PATH
    M=$(mktemp -d)
    mount -t tmpfs -o size=16m tmpfs "$M" || exit 90
    cp -a "$SRC" "$M/index"
    q="$QUESTION"
    run() { name=$1; shift; "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc"; }
    snap() { (cd "$M" && find . -type f -not -path './audit/*' -printf '%p %s\\n' | sort) > "$OUT/$1.files"
             df -B1 --output=avail "$M" | tail -1 | tr -d ' ' > "$OUT/$1.free"; }
    leave() { avail=$(df -B1 --output=avail "$M" | tail -1); fallocate -l $((avail - $1 * 1024)) "$M/filler"; }
    run ask0 "$PY" -m assistant ask "$q" --index "$M/index"
    cp "$BIG" "$CORPUS/manuals/"
    leave 400; snap before
    run estimate "$PY" -m assistant ingest "$CORPUS" --index "$M/index" --quiet
    snap after_estimate
    for free in 16 64 400; do
      rm -f "$M/filler"; leave $free; snap "before_$free"
      run "full_$free" env ASSISTANT_SKIP_SPACE_CHECK=1 "$PY" -m assistant ingest "$CORPUS" --index "$M/index" --quiet
      snap "after_$free"
    done
    run ask1 "$PY" -m assistant ask "$q" --index "$M/index"
    rm -f "$M/filler"
    run freed "$PY" -m assistant ingest "$CORPUS" --index "$M/index" --quiet
    run ask2 "$PY" -m assistant ask "$q" --index "$M/index"
    umount "$M"
""").replace("$QUESTION", QUESTION)


def can_mount_tmpfs() -> bool:
    if not shutil.which("unshare") or not shutil.which("fallocate"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d"],
                           capture_output=True)
    return probe.returncode == 0


def big_manual(path: Path) -> Path:
    lines = ["# 가온시 공용차량 관리 매뉴얼\n\n담당 부서: 회계과\n"]
    for i in range(1, 13):
        lines.append(f"\n## {i}. 공용차량 운행 절차 {i}\n\n")
        lines += [f"공용차량 {i}-{j}호를 운행할 때에는 운행일지에 출발 시각, 도착 시각, 주행 거리와 목적지를 적고 차량 "
                  f"관리 담당자의 확인을 받습니다. 주유 카드 사용 내역은 매월 {i}일까지 회계과에 냅니다.\n"
                  for j in range(4)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root to mount a tmpfs in its own mount namespace")
def test_full_disk_during_reingest(indexes, tmp_path):
    """Index on a 16 MB tmpfs, a manual added, free space cut to 400 KB: the estimate refuses before writing; with
    the estimate skipped (16, 64 and 400 KB left) the disk really fills (opening the cache, in the run's cache file,
    in the new generation). Each time: non-zero exit, a Korean message, the filesystem exactly as found (files and
    free bytes, the audit log aside), the previous generation answering. With the space back the same ingest
    succeeds."""
    src = tmp_path / "index"
    shutil.copytree(indexes["two"], src)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "full.sh"
    script.write_text(NAMESPACE_SCRIPT, encoding="utf-8")
    done = subprocess.run(["unshare", "-m", "bash", str(script), str(src), str(corpus),
                           str(big_manual(tmp_path / "공용차량_관리.md")), str(out), sys.executable],
                          capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr

    def read(name: str) -> str:
        return (out / name).read_text(encoding="utf-8")

    assert read("ask0.rc").strip() == "0" and "65세" in read("ask0.out")
    for step, said in (("estimate", "디스크 공간이 부족해 색인을 시작하지 않았습니다"),
                       ("full_16", "디스크가 가득 찼습니다"), ("full_64", "디스크가 가득 찼습니다"),
                       ("full_400", "디스크가 가득 찼습니다")):
        err = read(f"{step}.err")
        assert read(f"{step}.rc").strip() != "0" and said in err and "Traceback" not in err, err
        assert [x for x in err.splitlines() if not x.startswith("{")] == [x for x in err.splitlines()
                                                                          if x.startswith("오류:")]
    def files(name: str) -> list[str]:
        # SQLite removes its own empty write-ahead log and shared-memory index when the last connection closes:
        # their presence in the copied index is housekeeping, not something the run left or took
        return [x for x in read(f"{name}.files").splitlines()
                if not re.search(r"cache\.sqlite-(shm \d+|wal 0)$", x)]

    for before, after in (("before", "after_estimate"), ("before_16", "after_16"), ("before_64", "after_64"),
                          ("before_400", "after_400")):
        assert files(before) == files(after)
        assert int(read(f"{after}.free")) >= int(read(f"{before}.free"))
    assert read("ask1.rc").strip() == "0" and read("ask1.out") == read("ask0.out")
    assert read("freed.rc").strip() == "0", read("freed.err")
    assert "manuals/공용차량_관리.md" in read("freed.out")
    assert read("ask2.rc").strip() == "0" and "65세" in read("ask2.out")


def test_unsealed_generation_read_errors_become_korean_errors(assistant, indexes, tmp_path):
    """A generation written before checksums were recorded has only its headers checked: a read error past them
    (FAISS on a truncated file) still ends in IndexDamaged naming the file, never a traceback."""
    index = tmp_path / "index"
    shutil.copytree(indexes["one"], index)
    gen = index / live_name(index)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    for key in ("integrity", "manifest_sha256"):
        manifest.pop(key)
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    assert check_generation(gen).ok and not check_generation(gen).sealed
    truncate(gen / "dense.faiss")
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    with pytest.raises(AssistantError, match="dense.faiss") as caught:
        bot.ask(QUESTION)
    assert "--rebuild" in str(caught.value)


def test_readyz_and_admin_page_say_an_older_generation_is_served(assistant, indexes, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient
    from streamlit.testing.v1 import AppTest

    from assistant.entrypoints.api import create_app
    from ui.admin_hash import make_hash

    index = damaged_copy(indexes, "two", "dense.faiss", "flip", tmp_path)
    bot = assistant.clone(index_dir=index, audit_enabled=False)
    ready = TestClient(create_app(bot.settings, bot)).get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["generation"] == indexes["older"] and "dense.faiss" in ready.json()["reason"]

    from ui import common

    monkeypatch.setattr(common, "_assistant", lambda key, settings: bot)  # the loaded models, this index
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash("damage-test-password", iterations=1000))
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/admin.py").run()
    at.text_input(key="admin_password").set_value("damage-test-password")
    at.button[0].click().run()
    assert not at.exception
    assert any("dense.faiss" in w.value and indexes["older"] in w.value for w in at.warning)


API_FULL_DISK = textwrap.dedent("""\
    import json, os, shutil, subprocess, sys, tempfile
    from pathlib import Path
    from fastapi.testclient import TestClient
    from assistant import Assistant, Settings
    from assistant.entrypoints.api import create_app
    from assistant.keys import new_key

    src, corpus, big = map(Path, sys.argv[1:4])
    mount = Path(tempfile.mkdtemp())
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    shutil.copytree(src, mount / "index")
    key, spec = new_key("admin")
    bot = Assistant(Settings.load(env={}, index_dir=mount / "index", corpus_dir=corpus, api_keys=spec))
    client = TestClient(create_app(bot.settings, bot))
    auth = {"Authorization": f"Bearer {key}"}
    before = client.post("/v1/ask", json={"question": sys.argv[4]}, headers=auth).json()["answer"]
    free = shutil.disk_usage(mount).free
    with open(mount / "filler", "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, free - 300 * 1024)
    files = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file() and "audit" not in p.parts)
    shutil.copy(big, corpus / "manuals")
    failed = client.post("/v1/ingest", headers=auth)
    after = sorted(str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file() and "audit" not in p.parts)
    ready = client.get("/readyz").json()
    again = client.post("/v1/ask", json={"question": sys.argv[4]}, headers=auth).json()["answer"]
    print(json.dumps({"status": failed.status_code, "body": failed.json(), "same_files": files == after,
                      "ready": ready["status"], "same_answer": again == before}, ensure_ascii=False))
""")


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root to mount a tmpfs in its own mount namespace")
def test_api_ingest_on_a_full_disk_is_an_error_json(indexes, tmp_path):
    """POST /v1/ingest with too little space: 507 with a Korean error, nothing left behind, the server answering."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    script = tmp_path / "api_full.py"
    script.write_text(API_FULL_DISK, encoding="utf-8")
    done = subprocess.run(["unshare", "-m", sys.executable, str(script), str(indexes["two"]), str(corpus),
                           str(big_manual(tmp_path / "공용차량_관리.md")), QUESTION], capture_output=True, text=True,
                          env=cli_env(), cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 507 and "디스크" in result["body"]["error"]
    assert result["same_files"] and result["ready"] == "ready" and result["same_answer"]
