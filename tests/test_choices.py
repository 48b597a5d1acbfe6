"""Several documents answer a question that names none: the answer's outcome is "choose" and its candidates are
offered to pick from. `assistant chat` lists them numbered and takes the number on the next line (the UI's buttons
are in tests/test_ui.py). One check on the bundled corpus with the real models, and the CLI's picking logic with
answers built directly."""
from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

from assistant.answering.answer import Answer, Candidate
from assistant.entrypoints import cli

COMMITTEE = "위원회는 몇 명으로 구성되나요?"  # three ordinances each have a committee


def choice_answer(question: str) -> Answer:
    candidates = tuple(Candidate(f"ordinances/{name}.md", title, "제10조", f"{title}의 위원회는 몇 명으로 구성되나요?")
                       for name, title in (("youth", "가온시 청년 기본 조례"), ("elderly", "가온시 노인복지 증진 조례")))
    return Answer(question, "어느 조례를 말씀하시나요?", (), False, None, "extractive", {}, candidates=candidates)


def plain_answer(question: str) -> Answer:
    return Answer(question, f"답: {question}", (), False, None, "extractive", {})


class Stream:
    def __init__(self, answer: Answer):
        self.result = answer

    def __iter__(self):
        yield self.result.answer


class FakeAssistant:
    """Only what `cmd_chat` calls: a question with "몇 명" gets candidates, any other a plain answer."""

    def __init__(self):
        self.asked: list[str] = []

    @staticmethod
    def conversation():
        return SimpleNamespace(reset=lambda: None)

    def ask_stream(self, question, mode="staff", conversation=None):
        self.asked.append(question)
        return Stream(choice_answer(question) if "몇 명" in question and "조례의" not in question
                      else plain_answer(question))


def chat(monkeypatch, capsys, bot, lines: str, as_json: bool) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert cli.cmd_chat(SimpleNamespace(json=as_json, mode="staff"), bot) == 0
    return capsys.readouterr().out


def test_cli_chat_lists_candidates_numbered_and_takes_the_number(monkeypatch, capsys):
    bot = FakeAssistant()
    out = chat(monkeypatch, capsys, bot, f"{COMMITTEE}\n2\n", as_json=False)
    assert "어느 문서를 말씀하시나요?" in out
    assert "  1. 가온시 청년 기본 조례" in out and "  2. 가온시 노인복지 증진 조례" in out
    assert bot.asked == [COMMITTEE, "가온시 노인복지 증진 조례의 위원회는 몇 명으로 구성되나요?"]


def test_cli_chat_number_means_a_question_only_after_candidates(monkeypatch, capsys):
    bot = FakeAssistant()
    chat(monkeypatch, capsys, bot, f"기초연금은 몇 살부터?\n1\n{COMMITTEE}\n\n1\n{COMMITTEE}\n7\n", as_json=False)
    # "1" after a plain answer, after an empty line (a new conversation) and a number out of range are asked as typed
    assert bot.asked == ["기초연금은 몇 살부터?", "1", COMMITTEE, "1", COMMITTEE, "7"]


def test_cli_chat_json_is_one_object_per_answer_with_outcome_and_candidates(monkeypatch, capsys):
    bot = FakeAssistant()
    out = chat(monkeypatch, capsys, bot, f"{COMMITTEE}\n1\n", as_json=True)
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["outcome"] == "choose" and [c["title"] for c in first["candidates"]] == [
        "가온시 청년 기본 조례", "가온시 노인복지 증진 조례"]
    assert set(first["candidates"][0]) == {"source", "title", "anchor", "question"}
    assert second["outcome"] == "answer" and second["candidates"] == []
    assert second["question"] == "가온시 청년 기본 조례의 위원회는 몇 명으로 구성되나요?"


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
