"""Answers a person can act on: the section asked about, several candidates asked back, and the eval that checks
both (`eval/walkthrough.jsonl`, everyday questions over the bundled corpus)."""
from __future__ import annotations

import json
from pathlib import Path

from assistant.answering.asked import asked_sections, figure_fits, in_asked_section
from assistant.evaluation.evaluate import is_hit, outcome_expected, run_eval
from ingest import DocMeta
from ingest.chunk import make_chunks
from ingest.readers.pdf import unwrap
from ingest.structure import outline
from ingest.types import Page

ROOT = Path(__file__).resolve().parent.parent


def test_the_form_of_a_question_names_the_section_that_answers_it():
    assert asked_sections("아동수당은 누가 받을 수 있나요?")[0] == "지원 대상"
    assert asked_sections("장애인연금은 한 달에 얼마 받나요?")[0] == "지원 내용"
    assert asked_sections("신청할 때 필요한 서류는 뭔가요?")[0] == "구비 서류"
    assert asked_sections("생계급여의 근거 법률이 뭐예요?") == ("법적 근거",)
    assert asked_sections("기초연금 신청은 어디서 하나요?")[0] == "신청 방법"
    assert asked_sections("주거급여는 어디에 물어보면 되나요?")[0] == "문의처"
    assert asked_sections("청년정책위원회 위원의 임기는?") == ()
    assert in_asked_section("아동수당 > 문의처, 법적 근거", ("법적 근거",))
    assert not in_asked_section("아동수당 > 문의처", ("지원 대상",))
    # asked for money, the share of people a threshold aims at is no answer; asked for a reduction, it is
    assert not figure_fits("한 달에 얼마 받나요?", "100분의 70")
    assert figure_fits("부부가 같이 받으면 얼마나 감액되나요?", "100분의 20")


def test_guides_are_chunked_one_section_to_a_chunk():
    text = ("# 아동수당\n\n## 아동수당\n\n### 지원 대상\n\n13세 미만의 아동이 대상입니다.\n\n두 번째 줄입니다.\n\n"
            "### 지원 내용\n\n매월 10만원을 지급합니다.\n\n추가 금액이 있습니다.\n\n### 문의처\n\n아동보육과 (☎ 031-000-1320)\n\n"
            "### 법적 근거\n\n「아동수당법」 제4조\n")
    plan = outline([Page(1, text)], "welfare/아동수당.md", {})
    meta = DocMeta("d", "welfare/아동수당.md", plan.title, plan.doc_type, None, None, "public", "x")
    anchors = [c.anchor for c in make_chunks(meta, plan.sections, 700)]
    # sections of one line ride with a neighbour; the others stand alone
    assert anchors == ["아동수당 > 지원 대상", "아동수당 > 지원 내용", "아동수당 > 문의처, 법적 근거"]


def test_pdf_lines_are_unwrapped_and_glued_headings_split():
    page = ("만 18세 이상의 중증장애인으로서 소득인정액이 선정기준액 이하인 사람이 받을 수 있고\n"
            "배우자도 받을 수 있습니다.### 지원 내용\n"
            "- 신청서\n"
            "짧은 줄")
    lines = unwrap(page).split("\n")
    assert lines[0].endswith("받을 수 있고 배우자도 받을 수 있습니다.")
    assert lines[1] == "### 지원 내용" and lines[2] == "- 신청서"


def test_stricter_hit_rule_for_guide_sections():
    doc, anchor = "아동수당.pdf", "아동수당 > 지원 대상"
    assert is_hit("welfare/아동수당.pdf", "아동수당 > 지원 대상", doc, anchor)
    assert is_hit("welfare/아동수당.pdf", "아동수당 > 지원 대상, 지원 내용", doc, anchor)
    assert not is_hit("welfare/아동수당.pdf", "아동수당 > 문의처", doc, anchor)
    assert is_hit("welfare/아동수당.pdf", "아동수당 > 문의처", doc, "아동수당")  # a service-only anchor
    assert outcome_expected({"kind": "choose", "doc": None, "docs": ["a.md"]}) == "choose"
    assert outcome_expected({"kind": "unanswerable", "doc": None}) == "refuse"


def test_a_who_question_quotes_the_who_section_and_a_how_much_question_no_share(assistant):
    answer = assistant.ask("아동수당은 누가 받을 수 있나요?")
    assert answer.outcome == "answer"
    assert answer.citations[0].anchor == "아동수당 > 지원 대상"
    answer = assistant.ask("장애인연금은 한 달에 얼마 받나요?")
    assert {c.anchor for c in answer.citations} == {"장애인연금 > 지원 내용"}
    assert "100분의 70" not in answer.answer and not answer.answer.startswith("핵심")
    answer = assistant.ask("생계급여의 근거 법률이 뭐예요?")
    assert answer.outcome == "answer" and answer.citations[0].anchor.endswith("> 법적 근거")


def test_a_question_several_ordinances_answer_is_asked_back_with_the_candidates(assistant):
    answer = assistant.ask("위원회는 몇 명으로 구성되나요?")
    assert answer.outcome == "choose" and not answer.refused
    titles = {c.title for c in answer.candidates}
    assert {"가온시 청년 기본 조례", "가온시 노인복지 증진 조례", "가온시 긴급복지 지원 조례"} <= titles
    assert len(answer.citations) == len(answer.candidates)  # each candidate's answer, cited
    assert "어느 문서" in answer.answer
    data = answer.to_json()
    assert data["outcome"] == "choose" and data["candidates"][0]["question"]
    # asking again with the document named answers from it
    youth = next(c for c in answer.candidates if c.title == "가온시 청년 기본 조례")
    again = assistant.ask(youth.question)
    assert again.outcome == "answer" and again.citations[0].title == "가온시 청년 기본 조례"
    assert "20명" in again.answer
    # a question that names one of them is answered, not asked back
    named = assistant.ask("청년정책위원회는 몇 명으로 구성되나요?")
    assert named.outcome == "answer" and named.citations[0].title == "가온시 청년 기본 조례"


def test_kiosk_lines_sit_under_their_section_name_not_an_instruction(assistant):
    answer = assistant.ask("기초연금은 몇 살부터 받을 수 있나요?", mode="kiosk")
    first, last = answer.citations[0], answer.citations[-1]
    # the lead names where the lines stand, true of every line under it; no instruction such as "신청은 이렇게 하세요"
    assert first.anchor == "기초연금 > 지원 대상" and f"{first.where}에 이렇게 안내되어 있어요." in answer.answer
    # a kiosk answer ends with how to apply, under that section's own name
    assert last.anchor == "기초연금 > 신청 방법" and "**신청 방법**" in answer.answer
    assert answer.answer.index("**신청 방법**") < answer.answer.index(last.quote)


def test_walkthrough_set_reports_outcomes(assistant, tmp_path):
    result = run_eval(assistant, ROOT / "eval" / "walkthrough.jsonl", out=tmp_path / "walk.json")
    items = [json.loads(x) for x in (ROOT / "eval" / "walkthrough.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) >= 30 and sum(x["kind"] == "choose" for x in items) >= 3
    assert result["outcome_accuracy"] is not None and result["right"] is not None
    # measured 33 of 35 right (docs/eval-walkthrough.json, docs/ANSWERS.md); a regression below 30 fails
    assert sum(r["right"] for r in result["answers"]) >= 30


def test_a_reply_that_picks_a_candidate_asks_about_it(assistant):
    """In a conversation, "2번" or a candidate's name after a question back is that candidate's question; a new
    question is read as its own."""
    conversation = assistant.conversation()
    first = assistant.ask("위원회는 몇 명으로 구성되나요?", conversation=conversation)
    assert first.outcome == "choose"
    by_name = assistant.ask("청년 기본 조례요", conversation=conversation)
    assert by_name.citations[0].title == "가온시 청년 기본 조례" and "20명" in by_name.answer
    conversation = assistant.conversation()
    assistant.ask("위원회는 몇 명으로 구성되나요?", conversation=conversation)
    second = first.candidates[1]
    by_number = assistant.ask("2번", conversation=conversation)
    assert by_number.question == second.question and by_number.citations[0].title == second.title
    conversation = assistant.conversation()
    assistant.ask("위원회는 몇 명으로 구성되나요?", conversation=conversation)
    other = assistant.ask("청년 월세 지원은 얼마인가요?", conversation=conversation)
    assert other.question == "청년 월세 지원은 얼마인가요?" and other.outcome == "answer"
