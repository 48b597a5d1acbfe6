"""Streamlit AppTest of every page on the bundled corpus with the real models: staff chat, citizen kiosk (masking,
reset, idle reset, public documents only), admin console (refusal without the password, uploads, re-ingest) and the
public AI register. Plus the message catalogue and the admin password hash."""
from __future__ import annotations

import inspect
import json
import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest

from assistant.governance.logins import ADMIN_LOGINS
from ui.admin_hash import is_valid, make_hash, verify
from ui.messages import MESSAGES

from .conftest import ROOT

PASSWORD = "가온-관리자-2025"
INTERNAL_TITLE = "민원 처리 및 정보공개 청구 업무 매뉴얼"  # the one internal manual under corpora/manuals/


@pytest.fixture()
def ui_env(assistant, monkeypatch, tmp_path):
    """The app pointed at the session index, with feedback in a fresh folder and no admin password."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(assistant.settings.index_dir))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(assistant.settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_DIR", str(tmp_path / "feedback"))
    monkeypatch.delenv("ASSISTANT_ADMIN_PASSWORD_HASH", raising=False)
    monkeypatch.delenv("ASSISTANT_UI_MODE", raising=False)
    monkeypatch.chdir(tmp_path)  # no assistant.toml from the working directory
    ADMIN_LOGINS.reset()  # the failed-login count is process-wide by design; each test starts with none
    # each test's settings differ (its feedback folder), so the app builds an Assistant per test: with the session's
    # loaded models (Assistant.clone), or each would load its own and the file's tests outgrow the machine's memory
    import dataclasses

    from ui import common

    built = {}

    def cached(key, settings):  # as common._assistant: one per settings, kept for the test
        if key not in built:
            built[key] = assistant.clone(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)})
        return built[key]

    monkeypatch.setattr(common, "_assistant", cached)
    return tmp_path


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "warning", "info", "error", "success", "title", "code")
             for e in getattr(at, kind)]
    parts += [str(b.label) for b in at.button]
    return "\n".join(str(p) for p in parts)


def admin_actions_visible(at: AppTest) -> bool:
    labels = {b.label for b in at.button}
    return bool(at.get("file_uploader")) or bool(at.tabs) or bool(at.json) or bool(at.dataframe) or any(
        label in labels for label in ("다시 색인하기", "올린 파일 저장", "로그아웃"))


# ---------------------------------------------------------------- staff chat


def test_chat_streams_answer_with_clickable_sources_copy_feedback_and_export(ui_env):
    at = app()
    assert "행정 도우미" in at.title[0].value
    at.chat_input[0].set_value("기초연금은 몇 살부터 받을 수 있나요?").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    answer = history[-1]["answer"]
    assert not answer.refused and answer.citations
    page = texts(at)
    assert "65세" in page
    cites = [b for b in at.button if b.key and b.key.startswith("cite_")]
    assert len(cites) == len(answer.sources)  # one per cited 항; its quoted 호 open with it
    # the side panel shows the full text of the cited chunk, with the quote marked
    cites[-1].click().run()
    last = answer.sources[-1].citation
    assert at.session_state["chat_selected"] == (0, answer.sources[-1].index)
    panel = [m.value for m in at.markdown if "source-text" in m.value]
    assert panel and "<mark>" in panel[0]
    hit_text = next(h.chunk.text for h in answer.hits if last.quote in h.chunk.text)
    assert hit_text.split("\n")[-1][:20] in panel[0]  # the whole chunk, not only the quote
    # copy block carries the answer and its citations
    code = at.code[0].value
    assert answer.citations[0].label in code and answer.citations[0].source in code
    # feedback with a comment is stored masked for the admins
    at.text_input(key="fb_comment_0").set_value("민원인 900101-1234567 건에 잘 맞았어요").run()
    at.button(key="fb_down_0").click().run()
    assert not at.exception
    lines = (ui_env / "feedback" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert record["rating"] == "down" and "900101" not in record["comment"] and "[주민등록번호]" in record["comment"]
    assert record["citations"] == [c.label for c in answer.citations]
    assert "의견이 관리자에게 전달되었습니다" in texts(at)
    # the conversation exports as Markdown
    assert at.sidebar.get("download_button")
    from ui.common import export_markdown

    md = export_markdown(history, "ko")
    assert md.startswith("# ") and "기초연금은 몇 살부터" in md and answer.citations[0].label in md


def test_chat_warns_when_retrieval_is_weak_and_filters_apply(ui_env):
    at = app()
    at.chat_input[0].set_value("주차위반 과태료는 얼마인가요?").run()
    assert not at.exception
    assert at.session_state["chat_history"][-1]["answer"].refused
    assert any("답을 찾지 못했습니다" in w.value for w in at.warning)
    # doc-type filter: only ordinances
    at.sidebar.multiselect(key="chat_doc_types").set_value(["ordinance"]).run()
    at.chat_input[0].set_value("경로당 냉난방비 지원").run()
    answer = at.session_state["chat_history"][-1]["answer"]
    assert answer.citations and all(c.source.startswith("ordinances/") for c in answer.citations)
    assert all(h.chunk.doc_type == "ordinance" for h in answer.hits)
    # effective-date filter: nothing was in force in 1990
    at.sidebar.toggle(key="chat_in_force").set_value(True).run()
    import datetime as dt

    at.sidebar.date_input(key="chat_date").set_value(dt.date(1990, 1, 1)).run()
    at.chat_input[0].set_value("경로당 냉난방비 지원").run()
    answer = at.session_state["chat_history"][-1]["answer"]
    assert all((h.chunk.effective_date or "") <= "1990-01-01" for h in answer.hits)
    assert len(at.session_state["chat_history"]) == 3
    assert "지원하지 않는" not in texts(at)


def test_chat_follow_up_carries_the_subject_until_new_conversation(ui_env):
    at = app()
    at.chat_input[0].set_value("기초연금은 몇 살부터 받을 수 있나요?").run()
    at.chat_input[0].set_value("신청은 어디서 하나요?").run()
    assert not at.exception
    follow = at.session_state["chat_history"][-1]["answer"]
    assert follow.context["subject"] == "기초연금" and follow.citations[0].anchor == "기초연금 > 신청 방법"
    assert "기초연금에 대해 이어서 답합니다" in texts(at)
    next(b for b in at.button if b.key == "chat_clear").click().run()  # 새 대화
    assert at.session_state["chat_history"] == [] and "chat_conversation" not in at.session_state
    at.chat_input[0].set_value("신청은 어디서 하나요?").run()
    assert at.session_state["chat_history"][-1]["answer"].context is None


COMMITTEE = "위원회는 몇 명으로 구성되나요?"  # three ordinances each have a committee: the question names none
CHOICES = (("ordinances/가온시_청년_기본_조례.txt", "가온시 청년 기본 조례"),
           ("ordinances/가온시_노인복지_증진_조례.md", "가온시 노인복지 증진 조례"))


@pytest.fixture()
def choosing(monkeypatch):
    """The committee question answered with outcome "choose" (two candidates, built here: the rendering is under
    test, not the decision); every other question answered for real. Records the conversation of each call."""
    from assistant.answering.answer import Answer, Candidate
    from assistant.facade import Assistant

    real, calls = Assistant.ask_stream, []
    signature = inspect.signature(real)

    class Stream:
        def __init__(self, answer):
            self.result = answer

        def __iter__(self):
            yield self.result.answer

    def ask_stream(self, question, *args, **kwargs):
        calls.append((question, signature.bind(self, question, *args, **kwargs).arguments.get("conversation")))
        if question.strip() != COMMITTEE:
            return real(self, question, *args, **kwargs)
        candidates = tuple(Candidate(source, title, "제10조", f"{title}의 위원회는 몇 명으로 구성되나요?")
                           for source, title in CHOICES)
        return Stream(Answer(question, "여러 조례에 위원회가 있습니다. 어느 조례를 말씀하시나요?", (), False, None,
                             "extractive", {"retrieve": 1, "first_token": 1, "total": 1}, support=0.1,
                             candidates=candidates))

    monkeypatch.setattr(Assistant, "ask_stream", ask_stream)
    return calls


def test_chat_offers_candidates_as_buttons_that_ask_again_in_the_same_conversation(ui_env, choosing):
    at = app()
    at.chat_input[0].set_value(COMMITTEE).run()
    assert not at.exception
    answer = at.session_state["chat_history"][-1]["answer"]
    assert answer.outcome == "choose"
    buttons = [b for b in at.button if b.key and b.key.startswith("choose_0_")]
    assert [b.label for b in buttons] == [title for _, title in CHOICES]
    assert "어느 문서를 말씀하시나요?" in texts(at)
    assert not any("근거가 약합니다" in w.value for w in at.warning)  # a question back is not a weak answer
    buttons[1].click().run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert len(history) == 2 and history[1]["question"] == "가온시 노인복지 증진 조례의 위원회는 몇 명으로 구성되나요?"
    assert history[1]["answer"].outcome == "answer"
    assert history[1]["answer"].citations[0].source == CHOICES[1][0]
    # asked as if typed: the same conversation object, and the pick is not asked again on the next rerun
    assert choosing[1][1] is choosing[0][1] is at.session_state["chat_conversation"]
    at.run()
    assert len(at.session_state["chat_history"]) == 2


def test_kiosk_offers_candidates_in_plain_words(ui_env, choosing):
    at = app("kiosk")
    entry = kiosk_ask(at, COMMITTEE)
    assert [c["title"] for c in entry["candidates"]] == [title for _, title in CHOICES]
    assert "어느 것이 궁금하세요?" in texts(at)
    buttons = [b for b in at.button if b.key and b.key.startswith("kiosk_choose_")]
    assert [b.label for b in buttons] == [f"{title}에 대해 알아보기" for _, title in CHOICES]
    assert not any("정확하지 않을 수 있어요" in i.value for i in at.info)
    buttons[0].click().run()
    assert not at.exception
    entry = at.session_state["kiosk_qa"]
    assert entry["question"] == "가온시 청년 기본 조례의 위원회는 몇 명으로 구성되나요?"
    assert not entry["refused"] and not entry["candidates"] and entry["where"]
    assert choosing[1][1] is choosing[0][1] is at.session_state["kiosk_conversation"]
    next(b for b in at.button if "처음으로" in b.label).click().run()
    assert not [k for k in at.session_state if str(k).startswith("kiosk_choose") or k == "kiosk_picked"]


def test_committee_question_over_the_bundled_corpus_offers_the_ordinances(ui_env):
    """End to end with the real decision: the committee question names no ordinance; several have a committee."""
    at = app()
    at.chat_input[0].set_value(COMMITTEE).run()
    assert not at.exception
    answer = at.session_state["chat_history"][-1]["answer"]
    assert answer.outcome == "choose", (answer.outcome, answer.answer)
    buttons = [b for b in at.button if b.key and b.key.startswith("choose_0_")]
    assert [b.label for b in buttons] == [c.title for c in answer.candidates] and len(buttons) >= 2
    buttons[0].click().run()
    picked = at.session_state["chat_history"][-1]
    assert picked["question"] == answer.candidates[0].question and picked["answer"].outcome == "answer"
    assert picked["answer"].citations[0].source == answer.candidates[0].source
    kiosk = app("kiosk")
    entry = kiosk_ask(kiosk, COMMITTEE)
    assert len(entry["candidates"]) >= 2
    assert any(b.key and b.key.startswith("kiosk_choose_") for b in kiosk.button)


def test_english_ui_from_the_catalogue(ui_env):
    at = app()
    at.sidebar.radio(key="lang").set_value("en").run()
    assert "Administrative Assistant" in at.title[0].value


def test_catalogue_has_every_key_in_both_languages():
    assert set(MESSAGES["ko"]) == set(MESSAGES["en"])
    assert len(MESSAGES["ko"]["kiosk_examples"]) >= 3


# ---------------------------------------------------------------- kiosk


def test_kiosk_masks_personal_data_and_resets_on_home_button(ui_env):
    at = app("kiosk")
    page = texts(at)
    assert "무엇을 도와드릴까요" in page and "개인정보" in page
    welfare = next(b for b in at.button if "복지 서비스 찾기" in b.label)
    assert not welfare.disabled and "준비 중" not in welfare.label  # the finder has landed
    at.text_input[0].set_value("기초연금 신청은 어디서 하나요? 제 번호는 010-1234-5678 이에요")
    at.button(key=f"FormSubmitter:kiosk_form_{at.session_state['kiosk_nonce']}-물어보기").click().run()
    assert not at.exception
    page = texts(at)
    assert "[전화번호]" in page and "010-1234-5678" not in page
    assert "010-1234-5678" not in repr(at.session_state)
    assert "기초연금" in page
    home = next(b for b in at.button if "처음으로" in b.label)
    home.click().run()
    assert "kiosk_qa" not in at.session_state
    assert "[전화번호]" not in texts(at) and "기초연금 신청은" not in texts(at)
    assert all(not w.value for w in at.text_input)


def kiosk_ask(at: AppTest, question: str) -> dict:
    at.text_input[0].set_value(question)
    at.button(key=f"FormSubmitter:kiosk_form_{at.session_state['kiosk_nonce']}-물어보기").click().run()
    assert not at.exception
    return at.session_state["kiosk_qa"]


def test_kiosk_follow_ups_stay_within_one_visitor(ui_env):
    """Two kiosk sessions side by side: each carries only its own subject; 처음으로 forgets it."""
    first, second = app("kiosk"), app("kiosk")
    kiosk_ask(first, "기초연금은 몇 살부터 받을 수 있나요?")
    assert "이어서" not in kiosk_ask(second, "신청은 어디서 하나요?")["answer"]  # nothing from the other visitor
    follow = kiosk_ask(first, "신청은 어디서 하나요?")
    assert follow["answer"].startswith("기초연금에 대해 이어서 답합니다")
    assert first.session_state["kiosk_conversation"].last.subject == "기초연금"
    next(b for b in first.button if "처음으로" in b.label).click().run()
    assert "kiosk_conversation" not in first.session_state
    assert "이어서" not in kiosk_ask(first, "신청은 어디서 하나요?")["answer"]


def test_kiosk_example_button_and_idle_reset(ui_env):
    at = app("kiosk")
    example = MESSAGES["ko"]["kiosk_examples"][0]
    next(b for b in at.button if b.label == example).click().run()
    assert not at.exception
    assert at.session_state["kiosk_qa"]["question"] == example
    assert example in texts(at)
    # a rerun within the timeout keeps it; one after the timeout finds nothing of the last person
    at.run()
    assert "kiosk_qa" in at.session_state
    at.session_state["kiosk_last_active"] = time.time() - 10_000
    at.run()
    assert "kiosk_qa" not in at.session_state
    assert example not in "\n".join(m.value for m in at.markdown)


def test_kiosk_never_shows_internal_documents(ui_env, assistant):
    question = "정보공개 청구 결정 기간은?"
    staff = assistant.ask(question, mode="staff")
    assert any(INTERNAL_TITLE in c.title for c in staff.citations), "the question does reach the internal manual"
    at = app("kiosk")
    at.text_input[0].set_value(question)
    at.button(key=f"FormSubmitter:kiosk_form_{at.session_state['kiosk_nonce']}-물어보기").click().run()
    assert not at.exception
    page = texts(at)
    assert INTERNAL_TITLE not in page and "매뉴얼" not in page
    assert INTERNAL_TITLE not in repr(at.session_state)


def test_kiosk_rate_limit_survives_the_home_button(ui_env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_KIOSK_QUESTIONS_PER_MINUTE", "2")
    at = app("kiosk")
    example = MESSAGES["ko"]["kiosk_examples"][0]
    for _ in range(2):
        next(b for b in at.button if b.label == example).click().run()
        assert "error" not in at.session_state["kiosk_qa"]
        next(b for b in at.button if "처음으로" in b.label).click().run()
    next(b for b in at.button if b.label == example).click().run()
    assert at.session_state["kiosk_qa"] == {"error": MESSAGES["ko"]["kiosk_rate_limited"]}
    assert "1분쯤 뒤에" in texts(at)


def test_kiosk_mode_offers_only_public_pages(ui_env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_UI_MODE", "kiosk")
    at = app()
    assert "무엇을 도와드릴까요" in texts(at)
    assert "chat_history" not in at.session_state
    assert not at.sidebar.radio  # no staff navigation or language switch on a kiosk


# ---------------------------------------------------------------- kiosk: welfare finder


def welfare_keys(at: AppTest) -> list[str]:
    """The finder's state: its step, the answers and its answer buttons (not the kiosk's entry button)."""
    return [k for k in at.session_state.keys()
            if str(k).startswith(("kiosk_welfare_step", "kiosk_welfare_answers", "kiosk_wf_"))]


def tap(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def finder_for_70_living_alone(at: AppTest) -> None:
    """Welfare finder for a 70-year-old living alone, income ≤ 30 % of 기준 중위소득, no disability, retired."""
    tap(at, "내가 받을 수 있는 복지 서비스 찾기")
    assert "나이가 어떻게 되세요?" in texts(at) and "질문 1 / 6" in texts(at)
    assert "70세" in texts(at)  # the representative age is said on the question
    tap(at, "65세 이상")
    assert "누구와 함께 사세요?" in texts(at)
    tap(at, "혼자 살아요")
    assert "가구 소득은 어느 정도인가요?" in texts(at) and "질문 3 / 5" in texts(at)  # no 자녀 수 for one living alone
    tap(at, "기준 중위소득의 30% 이하")
    tap(at, "아니오")
    assert "지금 일을 하고 계세요?" in texts(at)
    tap(at, "은퇴")


def test_kiosk_welfare_finder_for_a_70_year_old_living_alone(ui_env):
    at = app("kiosk")
    finder_for_70_living_alone(at)
    assert at.session_state["kiosk_welfare_answers"] == {"age": "65p", "household": "single", "income": "30",
                                                         "disability": "no", "employment": "retired"}
    page = texts(at)
    assert "나이 70세(65세 이상의 대표 나이)" in page
    headings = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert "### 기초연금" in headings
    # the 기초연금 card: badge, plain-Korean why, the guide's citation, and where to apply in an expander
    markdowns = [m.value for m in at.markdown]
    start = markdowns.index("### 기초연금")
    body = "\n".join(markdowns[start:start + 8])
    assert "신청 가능성 높음" in body
    assert "기초연금: 받을 수 있을 것으로 보입니다" in body and "만 65세 이상" in body
    assert "안내문 근거" in body and "기초연금 › 지원 대상" in body  # a guide is chunked one section to a chunk
    assert "만 65세 이상이고 소득인정액이 선정기준액 이하인 사람이 받을 수 있습니다." in body
    where = [e for e in at.expander if e.label == "어디에 신청하나요?"]
    assert where and len(where) == len(headings)
    first = "\n".join(m.value for m in where[0].markdown)
    assert "행정복지센터" in first and "노인복지과" in first
    # "no" services only as a collapsed count: 아동수당 (no children) has no card
    assert "### 아동수당" not in headings and "### 한부모가족 아동양육비" not in headings
    hidden = next(e for e in at.expander if e.label.startswith("조건이 맞지 않는 서비스"))
    assert any(ch.isdigit() for ch in hidden.label)
    assert all("확인 필요" in m or "신청 가능성 높음" in m for m in
               ("\n".join(markdowns[markdowns.index(h):markdowns.index(h) + 2]) for h in headings))
    # back returns to the last question with the answer kept, and forward again
    tap(at, "이전으로")
    assert "지금 일을 하고 계세요?" in texts(at)
    tap(at, "은퇴")
    assert "### 기초연금" in [m.value for m in at.markdown]
    # nothing of the profile was written to disk (the feedback folder stays absent)
    assert not any(p.is_file() for p in ui_env.rglob("*"))


def test_kiosk_welfare_finder_unknown_income_and_children_question(ui_env):
    at = app("kiosk")
    tap(at, "내가 받을 수 있는 복지 서비스 찾기")
    tap(at, "35~64세")
    tap(at, "한부모 가구예요")
    assert "18세 미만 자녀가 몇 명인가요?" in texts(at) and "질문 3 / 6" in texts(at)
    tap(at, "2명")
    tap(at, "잘 모름")  # income: left out of the profile, so income conditions are "maybe"
    tap(at, "아니오")
    tap(at, "일하는 중")
    from ui.views.welfare_flow import profile

    answers = at.session_state["kiosk_welfare_answers"]
    assert "income_ratio" not in profile(answers)
    assert profile(answers)["children"] == 2 and profile(answers)["household_type"] == "single_parent"
    headings = [m.value for m in at.markdown if m.value.startswith("### ")]
    assert "### 한부모가족 아동양육비" in headings
    markdowns = [m.value for m in at.markdown]
    start = markdowns.index("### 한부모가족 아동양육비")
    assert "확인 필요" in markdowns[start + 1]
    # back, question by question, and back from the first question closes the finder and drops the answers
    for _ in range(6):
        tap(at, "이전으로")
    assert "나이가 어떻게 되세요?" in texts(at)
    tap(at, "이전으로")
    assert "kiosk_welfare_answers" not in at.session_state and "kiosk_welfare_step" not in at.session_state
    assert "무엇을 도와드릴까요" in texts(at)


def test_kiosk_welfare_reset_clears_every_profile_key(ui_env):
    at = app("kiosk")
    finder_for_70_living_alone(at)
    assert welfare_keys(at)
    # the top "처음으로" (the kiosk's reset) forgets every answer
    next(b for b in at.button if "처음으로" in b.label).click().run()
    assert not at.exception
    assert not welfare_keys(at)
    assert "### 기초연금" not in [m.value for m in at.markdown] and "65세 이상" not in texts(at)
    assert "무엇을 도와드릴까요" in texts(at)
    # the idle timeout does the same
    finder_for_70_living_alone(at)
    assert welfare_keys(at)
    at.session_state["kiosk_last_active"] = time.time() - 10_000
    at.run()
    assert not welfare_keys(at)
    assert "### 기초연금" not in [m.value for m in at.markdown]
    # and the "처음으로" beside "이전으로" inside the finder, mid-way
    tap(at, "내가 받을 수 있는 복지 서비스 찾기")
    tap(at, "65세 이상")
    homes = [b for b in at.button if "처음으로" in b.label]
    assert len(homes) == 2
    homes[-1].click().run()
    assert not welfare_keys(at)
    assert not any(str(v) in ("65p", "single") for k, v in at.session_state.items() if str(k).startswith("kiosk_"))


def test_welfare_flow_messages_exist_in_both_languages():
    from ui.messages import t
    from ui.views.welfare_flow import QUESTIONS

    for language in ("ko", "en"):
        for name, options in QUESTIONS:
            assert t(f"kiosk_wf_q_{name}", language) and t(f"kiosk_wf_help_{name}", language)
            for option, _ in options:
                assert MESSAGES[language][f"kiosk_wf_{name}_{option}"]
                assert MESSAGES[language][f"kiosk_wf_used_{name}_{option}"]


# ---------------------------------------------------------------- admin


def test_admin_hash_roundtrip():
    stored = make_hash(PASSWORD, iterations=1000)
    assert is_valid(stored) and stored.startswith("pbkdf2_sha256$1000$")
    assert PASSWORD not in stored
    assert verify(PASSWORD, stored) and not verify("틀린 비밀번호", stored) and not verify("", stored)
    assert not verify(PASSWORD, "") and not verify(PASSWORD, "plain-text") and not is_valid("sha1$1$aa$bb")


def test_admin_logins_are_throttled_and_failures_audited(ui_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash(PASSWORD, iterations=1000))
    monkeypatch.setenv("ASSISTANT_AUDIT_DIR", str(tmp_path / "audit"))
    at = app("admin")
    for _ in range(ADMIN_LOGINS.limit):
        at.text_input(key="admin_password").set_value("guess")
        at.button[0].click().run()
    # now even the right password waits: guessing gains nothing, in this session or a new one
    fresh = app("admin")
    fresh.text_input(key="admin_password").set_value(PASSWORD)
    fresh.button[0].click().run()
    assert any("너무 많아" in e.value for e in fresh.error) and not admin_actions_visible(fresh)
    log = (tmp_path / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    events = [json.loads(line) for line in log.splitlines()]
    assert sum(e.get("event") == "admin_login_failed" for e in events) == ADMIN_LOGINS.limit
    assert "guess" not in log and PASSWORD not in log
    ADMIN_LOGINS.reset()
    fresh.text_input(key="admin_password").set_value(PASSWORD)
    fresh.button[0].click().run()
    assert admin_actions_visible(fresh)


def test_admin_console_disabled_without_hash(ui_env):
    at = app("admin")
    assert any("꺼져 있습니다" in i.value for i in at.info)
    assert not at.text_input and not admin_actions_visible(at)


def test_admin_refuses_every_action_without_the_password(ui_env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash(PASSWORD, iterations=1000))
    at = app("admin")
    assert not admin_actions_visible(at)
    at.text_input(key="admin_password").set_value("wrong-password")
    at.button[0].click().run()
    assert any("맞지 않습니다" in e.value for e in at.error)
    assert not admin_actions_visible(at)
    # a forged session value is not a login either
    at.session_state["admin_verified_hash"] = "pbkdf2_sha256$1$00$00"
    at.run()
    assert not admin_actions_visible(at)
    # the right password opens it; changing the configured password ends the session
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert admin_actions_visible(at)
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash(PASSWORD, iterations=1001))
    at.run()
    assert not admin_actions_visible(at)


def test_admin_upload_validation_reingest_and_reports(ui_env, assistant, monkeypatch, corpus_copy, tmp_path):
    index = tmp_path / "ix"
    shutil.copytree(assistant.settings.index_dir, index)  # embeddings cached: only the upload is embedded
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus_copy))
    monkeypatch.setenv("ASSISTANT_MAX_FILE_MB", "1")
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD_HASH", make_hash(PASSWORD, iterations=1000))
    feedback = ui_env / "feedback"
    feedback.mkdir()
    (feedback / "feedback.jsonl").write_text(json.dumps(
        {"at": "2025-01-01T00:00:00+00:00", "rating": "up", "comment": "좋아요", "question": "질문", "citations": []},
        ensure_ascii=False) + "\n", encoding="utf-8")
    at = app("admin")
    at.text_input(key="admin_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    doc = "# 가온시 주차장 안내\n\n## 이용 시간\n\n가온시 공영주차장은 매일 오전 7시부터 오후 11시까지 운영합니다.\n".encode()
    uploader = at.get("file_uploader")[0]
    uploader.set_value([("주차장_안내.md", doc, "text/markdown"), ("큰파일.md", b"x" * (2 * 2**20), "text/markdown"),
                        ("빈파일.txt", b"", "text/plain")])
    at.run()
    at.button(key="admin_save_uploads").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "큰파일.md" in errors and "너무 큽니다" in errors and "빈파일.txt" in errors
    uploads = corpus_copy / "uploads"
    assert (uploads / "주차장_안내.md").read_bytes() == doc
    assert not (uploads / "큰파일.md").exists() and not (uploads / "빈파일.txt").exists()
    # the type check holds on the server too, whatever the browser lets through
    from ui.common import check_upload, load_settings

    settings = load_settings()
    for name in ("script.exe", "../../etc/passwd.md", ".hidden.md", "noext"):
        assert check_upload(settings, name, 10, [".md", ".pdf", ".txt"]) is not None, name
    assert check_upload(settings, "조례.md", 10, [".md"]) is None
    # re-ingest with the live progress bar, then the change report
    at.button(key="admin_ingest").click().run()
    assert not at.exception
    report = at.session_state["admin_report"]
    assert report["documents"]["added"] == ["uploads/주차장_안내.md"] and report["embedded"] >= 1
    assert at.get("progress")
    page = texts(at)
    assert "변경 보고서" in page and "uploads/주차장_안내.md" in page
    # corpus statistics, index info and feedback are all there
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["문서 수"] == str(len(assistant.index.documents) + 1)
    assert at.json and "generation" in at.json[0].value
    assert any("좋아요" in str(d.value) for d in at.dataframe)


# ---------------------------------------------------------------- register


def test_register_page_is_public(ui_env):
    at = app("register")
    page = texts(at)
    assert "AI 사용 등록부" in page
    assert "AI 활용 등록부" in page
