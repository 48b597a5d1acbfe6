"""Conversations on the bundled corpus with the real models: follow-ups carry their subject, topic switches and
out-of-corpus questions start afresh, personal data is masked before a turn is kept, the audit log records the
carried context, `assistant chat` works piped and offline, and the conversation evaluation runs."""
from __future__ import annotations

import json
import subprocess
import sys

from assistant.evaluation.conversations import run_conversations
from assistant.governance.audit import audit_path

from .conftest import ROOT, cli_env


def test_a_follow_up_takes_the_subject_of_the_turn_before(assistant):
    conversation = assistant.conversation()
    first = assistant.ask("기초연금은 몇 살부터 받을 수 있나요?", conversation=conversation)
    assert first.context is None and first.citations[0].anchor.startswith("기초연금")
    follow = assistant.ask("신청은 어디서 하나요?", conversation=conversation)
    assert follow.context == {"subject": "기초연금", "documents": ["welfare/기초연금.md"]}
    assert follow.answer.startswith("기초연금에 대해 이어서 답합니다.")
    assert follow.citations[0].anchor == "기초연금 > 신청 방법"
    alone = assistant.ask("신청은 어디서 하나요?")  # the same words without the conversation
    assert alone.context is None and not alone.answer.startswith("기초연금에 대해")


def test_a_new_subject_or_an_outside_one_starts_afresh(assistant):
    conversation = assistant.conversation()
    assistant.ask("기초연금은 몇 살부터 받을 수 있나요?", conversation=conversation)
    switch = assistant.ask("장애인연금은 누가 받을 수 있나요?", conversation=conversation)
    assert switch.context is None and switch.citations[0].anchor.startswith("장애인연금")
    outside = assistant.ask("국가유공자 보훈급여금은 어디에서 신청하나요?", conversation=conversation)
    assert outside.context is None and outside.refused  # never answered from the previous subject
    follow = assistant.ask("문의는 어디로 하면 되나요?", conversation=conversation)
    assert follow.context is None  # a refusal leaves no answered subject to carry


def test_personal_data_is_masked_before_a_turn_is_kept_and_the_context_is_audited(assistant, tmp_path):
    bot = assistant.clone(audit_enabled=True, audit_dir=str(tmp_path / "audit"))
    conversation = bot.conversation()
    bot.ask("기초연금은 몇 살부터 받을 수 있나요? 제 번호는 010-1234-5678 입니다", conversation=conversation)
    bot.ask("신청은 어디서 하나요?", conversation=conversation)
    assert all("010-1234-5678" not in turn.question for turn in conversation.turns)
    assert "[전화번호]" in conversation.turns[0].question
    entries = [json.loads(line) for line in audit_path(bot.settings).read_text(encoding="utf-8").splitlines()]
    assert entries[-1]["context"]["subject"] == "기초연금"
    assert "context" not in entries[-2]  # a first turn carries nothing
    assert "010-1234-5678" not in audit_path(bot.settings).read_text(encoding="utf-8")
    conversation.reset()
    assert conversation.last is None


def test_cli_chat_reads_piped_questions_offline_and_an_empty_line_starts_afresh(assistant):
    questions = "기초연금은 몇 살부터 받을 수 있나요?\n신청은 어디서 하나요?\n\n신청은 어디서 하나요?\n"
    command = [sys.executable, "-m", "assistant", "chat", "--json", "--index", str(assistant.settings.index_dir)]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]
    done = subprocess.run(command, input=questions, capture_output=True, text=True, timeout=300,
                          env=cli_env(PYTHONPATH=str(ROOT), ASSISTANT_AUDIT_ENABLED="0"))
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 3
    assert set(answers[0]) >= {"answer", "citations", "refused", "referral", "model", "timings_ms", "context"}
    assert answers[0]["context"] is None
    assert answers[1]["context"]["subject"] == "기초연금"
    assert answers[2]["context"] is None  # the empty line started a new conversation
    assert "새 대화" in done.stderr


def test_conversation_evaluation_reports_with_and_without_context(assistant, tmp_path):
    path = tmp_path / "conversations.jsonl"
    rows = [{"id": "c1", "turns": [
        {"question": "기초연금은 몇 살부터 받을 수 있나요?", "doc": "기초연금.md", "anchor": "기초연금 > 지원 대상"},
        {"question": "신청은 어디서 하나요?", "doc": "기초연금.md", "anchor": "기초연금 > 신청 방법"},
        {"question": "국가유공자 보훈급여금은 어디에서 신청하나요?", "doc": None, "anchor": None}]}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = run_conversations(assistant, path)
    assert result["first_turn_accuracy"] == 1.0 and result["follow_up_accuracy"] == 1.0
    assert result["follow_ups"] == 2 and result["topic_switches"] == 1
    assert result["switches_answered_from_previous_subject"] == 0
    assert result["follow_up_accuracy_without_context"] < 1.0
