"""Several documents answer a question that names none: the answer's outcome is "choose" and its candidates are
offered to pick from. `assistant chat` lists them numbered and takes the number on the next line (the UI's buttons
are in tests/test_ui.py). All on the bundled corpus with the real models."""
from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

from assistant.entrypoints import cli

COMMITTEE = "위원회는 몇 명으로 구성되나요?"  # three ordinances each have a committee


def chat(monkeypatch, capsys, bot, lines: str, as_json: bool) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert cli.cmd_chat(SimpleNamespace(json=as_json, mode="staff"), bot) == 0
    return capsys.readouterr().out


def test_cli_chat_lists_candidates_numbered_and_takes_the_number(assistant, monkeypatch, capsys):
    bot = assistant.clone(audit_enabled=False)
    out = chat(monkeypatch, capsys, bot, f"{COMMITTEE}\n2\n", as_json=False)
    assert "어느 문서를 말씀하시나요?" in out
    first = bot.ask(COMMITTEE)
    assert f"  1. {first.candidates[0].title}" in out and f"  2. {first.candidates[1].title}" in out
    second = first.candidates[1]
    assert f"[{second.title} " in out.split("어느 문서를 말씀하시나요?")[-1]  # the pick answered from that one


def test_cli_chat_number_means_a_question_only_after_candidates(assistant, monkeypatch, capsys):
    bot = assistant.clone(audit_enabled=False)
    out = chat(monkeypatch, capsys, bot, f"기초연금은 몇 살부터?\n1\n{COMMITTEE}\n\n1\n{COMMITTEE}\n7\n", as_json=True)
    asked = [json.loads(line).get("question") for line in out.splitlines()]
    # "1" after a plain answer, after an empty line (a new conversation) and a number out of range are asked as typed
    assert asked == ["기초연금은 몇 살부터?", "1", COMMITTEE, "1", COMMITTEE, "7"]


def test_cli_chat_json_is_one_object_per_answer_with_outcome_and_candidates(assistant, monkeypatch, capsys):
    bot = assistant.clone(audit_enabled=False)
    out = chat(monkeypatch, capsys, bot, f"{COMMITTEE}\n1\n", as_json=True)
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["outcome"] == "choose" and len(first["candidates"]) >= 2
    assert set(first["candidates"][0]) == {"source", "title", "anchor", "question"}
    assert second["outcome"] == "answer" and second["candidates"] == []
    assert second["question"] == first["candidates"][0]["question"]


def test_a_question_several_ordinances_answer_offers_them_to_choose(assistant, monkeypatch, capsys):
    """On the bundled corpus: the committee question names no ordinance and three have one."""
    bot = assistant.clone(audit_enabled=False)
    answer = bot.ask(COMMITTEE)
    assert answer.outcome == "choose", (answer.outcome, answer.answer)
    assert len(answer.candidates) >= 2 and len({c.source for c in answer.candidates}) == len(answer.candidates)
    out = chat(monkeypatch, capsys, bot, f"{COMMITTEE}\n1\n", as_json=True)
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["outcome"] == "choose"
    picked = first["candidates"][0]
    assert second["question"] == picked["question"] and second["outcome"] == "answer"
    assert second["citations"][0]["source"] == picked["source"]
