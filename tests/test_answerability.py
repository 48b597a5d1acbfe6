"""The edge of the corpus: the answerability model refuses what the documents do not say, leave-documents-out
evaluation, figure leads that read as the article states them, and 부칙 that are down-weighted but still found."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answering.answer import FIGURE, figure_text
from assistant.answering.answerability import (FEATURES, AnswerabilityModel, said_as_statutes, statute_mentions,
                                               train)
from assistant.errors import BadQuestion, ConfigError
from assistant.evaluation.evaluate import run_eval, sibling

from .conftest import CORPUS


@pytest.mark.parametrize("line, figures", [
    ("매년 5월 1일부터 5월 7일까지를 어린이주간으로 한다.", ["5월 1일부터 5월 7일까지"]),
    ("14세가 되지 아니한 자의 질서위반행위는 과태료를 부과하지 아니한다.", ["14세 미만"]),
    ("그 사유가 발생한 날부터 30일 이내에 신고하여야 한다.", ["30일 이내"]),
    ("1년 이하의 징역 또는 1천만원 이하의 벌금에 처한다.", ["1년 이하", "1천만원 이하"]),
    ("이 조례는 2025년 1월 1일부터 시행한다.", ["2025년 1월 1일부터"]),
])
def test_figures_keep_their_month_both_ends_and_read_negations_plainly(line, figures):
    assert [figure_text(m) for m in FIGURE.finditer(line)] == figures


def test_statutes_named_in_a_question_are_recognised():
    assert statute_mentions("경기도 청년 기본 조례에서 '청년'은 몇 세인가요?") == ["경기도 청년 기본 조례"]
    assert statute_mentions("노인복지법 제32조는 어떤 시설을 규정하나요?") == ["노인복지법"]
    assert statute_mentions("행정기본법상 이의신청은 언제까지 하나요?") == ["행정기본법"]
    assert statute_mentions("신청 방법은 무엇인가요?") == []  # 방법 ends in 법 but names no statute
    assert statute_mentions("조례의 시행일은 어떻게 계산하나요?") == []  # ordinances in general


def test_an_everyday_word_is_found_where_the_statutes_word_for_it_is():
    """"월세가 밀리면" asks about what a 시행령 calls 임차료: the judge does not count 월세 as missing from it (the
    keyword query already searched both); a word with no statute word, or whose statute word is absent, stays missing."""
    terms = {"월세": 3.0, "밀리다": 1.0, "할머니": 2.0}
    found = said_as_statutes(terms, {"임차료", "수급자", "중지"})
    assert "월세" in found and "할머니" not in found and "밀리다" not in found
    assert "월세" not in said_as_statutes(terms, {"수급자"})


def test_training_separates_and_holds_the_answerable_refusal_bound():
    """On generated data with a real signal, the fitted model ranks the classes apart and its operating point
    refuses no more than the bound of the answerable rows."""
    rng = np.random.default_rng(0)
    n = 400
    answerable = rng.random(n) < 0.5
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 1] += np.where(answerable, 1.5, -1.5)  # the cosine carries the signal, the rest is noise
    y = answerable.astype(float)
    model = train(x, y, answerable, max_answerable_refused=0.05)
    p = np.array([model.probability(tuple(row)) for row in x])
    refused_answerable = float(np.mean(p[answerable] < 0.5))
    assert refused_answerable <= 0.05
    assert float(np.mean(p[~answerable] < 0.5)) > 0.6
    assert model.coef[1] == max(model.coef, key=abs)


def test_the_packaged_model_loads_and_a_wrong_file_is_a_korean_error(tmp_path):
    model = AnswerabilityModel.load()
    assert len(model.coef) == len(FEATURES) and model.report["cross_validated"]["folds"] >= 3
    stale = tmp_path / "old.json"
    stale.write_text(json.dumps({**model.to_json(), "features": ["coverage"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="다시 학습"):
        AnswerabilityModel.load(stale)
    with pytest.raises(ConfigError, match="읽을 수 없습니다"):
        AnswerabilityModel.load(tmp_path / "missing.json")


@pytest.mark.parametrize("question", [
    "국가유공자 보훈급여금은 어디에서 신청하나요?",
    "전입신고는 이사 후 며칠 이내에 해야 하나요?",
    "자동차 정기검사는 몇 년마다 받아야 하나요?",
])
def test_questions_about_what_the_corpus_does_not_hold_are_refused(assistant, question):
    answer = assistant.ask(question)
    assert answer.refused and answer.citations == ()
    assert answer.support < assistant.settings.min_support
    assert len(answer.features) == len(FEATURES)


def test_answerable_questions_of_the_bundled_set_are_answered(assistant):
    items = [json.loads(line) for line in (CORPUS / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
    answered = [not assistant.ask(x["question"]).refused for x in items if x["doc"]]
    assert sum(answered) / len(answered) >= 0.9


def test_leave_documents_out_turns_their_questions_unanswerable(assistant):
    result = run_eval(assistant, CORPUS / "qa.jsonl", hold_out_docs=2, seed=1)
    held = result["hold_out"]
    assert held["n_docs"] == 2 and len(held["docs"]) == 2 and held["questions"] >= 2
    moved = [r for r in result["answers"] if r["kind"] == "held_out"]
    assert len(moved) == held["questions"]
    # hidden means hidden: no answer cites a held-out document
    assert all(not r["top_source"] or not any(r["top_source"].endswith(d) for d in held["docs"])
               for r in result["answers"])
    for key in ("unanswerable_refused", "answerable_refused", "refusal_accuracy", "citation_precision"):
        assert 0.0 <= result[key] <= 1.0
    assert held["refused"] == round(sum(r["refused"] for r in moved) / len(moved), 4)
    with pytest.raises(BadQuestion):
        run_eval(assistant, CORPUS / "qa.jsonl", generate=False, hold_out_docs=999)


def test_a_statute_and_its_decree_are_siblings():
    assert sibling("docs/decree_기초연금법_시행령.md", "law_기초연금법.md")
    assert sibling("docs/law_기초연금법.md", "rule_기초연금법_시행규칙.md")
    assert not sibling("docs/law_장애인연금법.md", "law_기초연금법.md")


def test_addenda_are_found_by_the_words_only_they_hold(assistant):
    """A transitional provision naming a former ordinance is found; everyday questions are not answered by 부칙."""
    hits = assistant.retrieve("가온시 위기가정 지원에 관한 조례에 따라 지원 결정을 받은 가구는 어떻게 되나요?", 5)
    assert hits[0].chunk.anchor.startswith("부칙") and "위기가정" in hits[0].chunk.text
    hits = assistant.retrieve("긴급복지 지원금을 부정하게 받으면 어떻게 되나요?", 5)
    assert not hits[0].chunk.anchor.startswith("부칙")
