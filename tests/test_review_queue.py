"""The admin page's review queue (#31) in Streamlit's AppTest, on the session index with the real models: a 👎
written through the facade waits in the queue; the admin picks the passage that answers (or "not in the
documents"), names themselves and saves; the label is one QA-format line of labels.jsonl and the question leaves the
queue. Then the organisation's regression set is evaluated from the page, tuning is previewed and an undo with
nothing to undo says so."""
from __future__ import annotations

import json
import shutil

import pytest

from ui.admin_hash import make_hash

from .test_ui import PASSWORD, app, texts, ui_env  # noqa: F401 - ui_env is a fixture used here

HEATING = "우리 동네 경로당은 겨울철 난방비를 한 달에 얼마까지 지원받을 수 있나요?"  # corpora/qa.jsonl corp-003
HEATING_DOC, HEATING_TITLE, HEATING_ARTICLE = "가온시_노인복지_증진_조례.md", "가온시 노인복지 증진 조례", "제7조"
PARKING = "주차위반 과태료는 얼마인가요?"  # in no bundled document


@pytest.fixture(scope="module")
def review_index(assistant, tmp_path_factory):
    """A copy of the session index: evaluation and tuning write into the index folder (eval/, tuned/)."""
    index = tmp_path_factory.mktemp("review") / "index"
    shutil.copytree(assistant.settings.index_dir, index)
    return index


@pytest.fixture()
def review_env(ui_env, assistant, review_index, monkeypatch):  # noqa: F811
    """The app on the copied index with an admin password, feedback and audit in the test's folder; returns the
    facade writing to the same places (the staff chat's 👎 goes through it too)."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(review_index))
    monkeypatch.setenv("ASSISTANT_AUDIT_DIR", str(ui_env / "audit"))
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash(PASSWORD, iterations=1000))
    return assistant.clone(index_dir=review_index, feedback_dir=str(ui_env / "feedback"),
                           audit_dir=str(ui_env / "audit"))


def thumbs_down(bot, question: str):
    answer = bot.ask(question)
    bot.save_feedback("down", "", question, answer)
    return answer


def admin(at=None):
    at = at or app("admin")
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def labels_file(bot):
    return bot.labels_path()


def label_lines(bot) -> list[dict]:
    path = labels_file(bot)
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_label_the_passage_that_answers_and_the_question_leaves_the_queue(review_env):
    bot = review_env
    answer = thumbs_down(bot, HEATING)
    [item] = bot.review_queue()
    assert item.origin == "down" and item.question == HEATING
    at = admin()
    assert at.selectbox(key="review_pick").value == item.key
    page = texts(at)
    assert "검토 대기 1건" in page and HEATING in page
    queue_table = next(d.value for d in at.dataframe if "출처" in d.value.columns)
    assert list(queue_table["출처"]) == ["👎"] and list(queue_table["질문"]) == [HEATING]
    assert list(queue_table["답"]) == [answer.answer]  # as stored: masked (nothing personal here)
    if answer.citations:
        assert answer.citations[0].label in page
    # the top-10 passages retrieval finds, each with title, anchor and the start of its text
    passages = at.radio(key=f"review_passage_{item.key}")
    assert 1 <= len(passages.options) <= 10 and passages.value is None
    pick = next(n for n, label in enumerate(passages.options) if f"{HEATING_TITLE} · {HEATING_ARTICLE}" in label)
    assert at.radio(key=f"review_verdict_{item.key}").value == "passage"
    at.text_input(key="review_by").set_value("김검토")
    passages.set_value(pick)
    at.button(key=f"review_save_{item.key}").click().run()
    assert not at.exception, at.exception
    assert any("라벨을 저장했습니다" in s.value and HEATING_ARTICLE in s.value for s in at.success)
    [label] = label_lines(bot)
    assert label["id"] == f"org-{item.key}" and label["question"] == HEATING
    assert label["doc"].endswith(HEATING_DOC) and label["anchor"] == HEATING_ARTICLE and label["kind"] == "fact"
    assert label["labelled_by"] == "김검토" and label["labelled_at"]
    # gone from the queue; the reviewer's name is kept for the next one
    assert all(box.key != "review_pick" for box in at.selectbox) and "검토할 질문이 없습니다" in texts(at)
    assert at.session_state["review_reviewer"] == "김검토"
    assert bot.review_queue() == [] and [x["id"] for x in bot.labels()] == [label["id"]]
    assert next(m for m in at.metric if m.label == "라벨 수").value == "1"


def test_not_in_the_documents_and_a_missing_reviewer(review_env):
    bot = review_env
    thumbs_down(bot, HEATING)
    thumbs_down(bot, PARKING)
    items = bot.review_queue()
    assert [i.question for i in items] == [PARKING, HEATING]  # newest first
    at = admin()
    assert at.selectbox(key="review_pick").value == items[0].key
    key = items[0].key
    # no reviewer: an error, nothing written
    at.radio(key=f"review_verdict_{key}").set_value("unanswerable").run()
    at.button(key=f"review_save_{key}").click().run()
    assert not at.exception, at.exception
    assert any("검토자" in e.value for e in at.error)
    assert not labels_file(bot).exists()
    # "this passage" with no passage picked, and "one of several" with one document: errors too
    at.text_input(key="review_by").set_value("이검토")
    at.radio(key=f"review_verdict_{key}").set_value("passage").run()
    at.button(key=f"review_save_{key}").click().run()
    assert any("구절을 골라" in e.value for e in at.error)
    at.radio(key=f"review_verdict_{key}").set_value("choose").run()
    docs = at.multiselect(key=f"review_docs_{key}")
    assert len(docs.options) >= 2
    docs.set_value([bot.review_candidates(PARKING)[0]["source"]])
    at.button(key=f"review_save_{key}").click().run()
    assert any("둘 이상" in e.value for e in at.error)
    assert not labels_file(bot).exists()
    # not in the documents
    at.radio(key=f"review_verdict_{key}").set_value("unanswerable").run()
    at.button(key=f"review_save_{key}").click().run()
    assert not at.exception, at.exception
    assert any("문서에 없음" in s.value for s in at.success)
    [label] = label_lines(bot)
    assert label["question"] == PARKING and label["kind"] == "unanswerable"
    assert label["doc"] is None and label["anchor"] is None and label["labelled_by"] == "이검토"
    assert label["labelled_at"] and label["id"] == f"org-{key}"
    # the other one is still waiting, picked now
    assert at.selectbox(key="review_pick").value == items[1].key and "검토 대기 1건" in texts(at)
    assert [i.key for i in bot.review_queue()] == [items[1].key]


def test_regression_set_tuning_preview_and_undo_with_nothing_to_undo(review_env):
    bot = review_env
    thumbs_down(bot, HEATING)
    [item] = bot.review_queue()
    passage = next(c for c in bot.review_candidates(HEATING)
                   if c["source"].endswith(HEATING_DOC) and c["anchor"].startswith(HEATING_ARTICLE))
    bot.label(item, "passage", "김검토", passage=passage)
    before = len(bot.regression_history())
    at = admin()
    assert "검토할 질문이 없습니다" in texts(at)
    download = at.get("download_button")
    assert download and not download[0].proto.disabled
    at.button(key="regression_run").click().run()
    assert not at.exception, at.exception
    done = next(s.value for s in at.success if "평가를 마쳤습니다" in s.value)
    assert "라벨 1개" in done and "recall@1 1.000" in done
    rows = bot.regression_history()
    assert len(rows) == before + 1 and rows[-1]["n"] == 1 and rows[-1]["recall@1"] == 1.0
    history = next(d.value for d in at.dataframe if "색인 세대" in d.value.columns)
    assert history["recall@1"].iloc[0] == 1.0 and history["모델"].iloc[0] == rows[-1]["models"]
    assert at.get("vega_lite_chart")  # the figures over time
    # one label teaches nothing a fold could check: the preview says so and installs nothing
    at.button(key="tune_preview").click().run()
    assert not at.exception, at.exception
    assert any("설치하지 않았습니다" in i.value for i in at.info)
    assert "쓸 수 있는 답 있는 라벨이 1개입니다" in texts(at)
    assert "비교할 수 있는 수치가 없습니다" in texts(at)
    assert not (bot.settings.index_dir / "tuned" / "ACTIVE").exists()
    # nothing to undo: the facade's Korean message
    at.button(key="tune_undo").click().run()
    assert not at.exception, at.exception
    assert any("되돌릴 학습 결과가 없습니다" in e.value for e in at.error)
    models = next(d.value for d in at.dataframe if "SHA-256" in d.value.columns and "모델" in d.value.columns)
    assert {"ranker", "answerability"} <= set(models["모델"]) and "출처: packaged" in texts(at)
    assert "아직 학습한 적이 없습니다" in texts(at)
    # a label given by mistake is withdrawn: its question is back in the queue
    at.button(key="withdraw_button").click().run()
    assert any("검토자" in e.value for e in at.error) and len(bot.labels()) == 1  # no name, nothing withdrawn
    at.text_input(key="withdraw_by").set_value("김검토").run()
    at.button(key="withdraw_button").click().run()
    assert not at.exception, at.exception
    assert bot.labels() == [] and [i.question for i in bot.review_queue()] == [HEATING]
    assert any("라벨을 거두었습니다" in s.value for s in at.success)
    # the same page in English, from the catalogue
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    assert "Review queue" in [tab.label for tab in at.tabs]
    assert "Evaluate now" in texts(at) and "Undo the last tuning" in texts(at)
