"""Citizen kiosk: large type, plain Korean, example questions as big buttons, no login. Public documents only
(mode="kiosk"); personal data is masked before it is kept or shown; everything is forgotten after an idle timeout
or on "처음으로", so the next person sees nothing of the last. The welfare finder (ui/views/welfare_flow.py) keeps its
answers under the same "kiosk_" prefix, so the same reset forgets them."""
from __future__ import annotations

import time

import streamlit as st

from assistant.errors import AssistantError
from ui.common import PrivacyUnavailable, get_assistant, lang, load_settings, mask
from ui.messages import t
from ui.views import welfare_flow

PREFIX = "kiosk_"  # every piece of kiosk state starts with it, widget keys included
LAST, QA, NONCE = "kiosk_last_active", "kiosk_qa", "kiosk_nonce"
PICKED = "kiosk_picked"  # a candidate's question, asked on the next run as if typed
CONVERSATION = "kiosk_conversation"  # per visitor (per browser session); "처음으로" and the idle reset forget it
RATE = "rate_kiosk_asked"  # outside the kiosk_ prefix on purpose: "처음으로" must not reset the rate limit

CSS = """
<style>
section.main, [data-testid="stMain"] { font-size: 1.45rem; }
[data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.45rem; line-height: 1.7; }
[data-testid="stMain"] h1 { font-size: 2.8rem; }
[data-testid="stMain"] .stButton button, [data-testid="stMain"] .stFormSubmitButton button {
  min-height: 4.2rem; font-size: 1.45rem; border-radius: 1rem; padding: 0.6rem 1.2rem; }
[data-testid="stMain"] button p { font-size: 1.45rem; white-space: normal; overflow: visible; text-overflow: clip;
  line-height: 1.4; }
[data-testid="stMain"] input { font-size: 1.6rem; min-height: 3.6rem; }
[data-testid="stMain"] label p { font-size: 1.35rem; }
</style>
"""


def reset() -> None:
    """Forget the last person completely: every kiosk key, widget values included."""
    nonce = st.session_state.get(NONCE, 0)
    for key in [k for k in st.session_state if str(k).startswith(PREFIX)]:
        del st.session_state[key]
    st.session_state[NONCE] = nonce + 1  # fresh widget keys: no typed text survives in the browser either
    st.session_state[LAST] = time.time()


def idle_seconds(settings) -> int:
    return max(10, int(settings.kiosk_idle_seconds))


def expired(settings) -> bool:
    last = st.session_state.get(LAST)
    return last is not None and time.time() - last > idle_seconds(settings)


def watchdog(settings) -> None:
    """Reruns the page after the idle timeout even when nobody touches the screen."""

    @st.fragment(run_every=min(15, idle_seconds(settings)))
    def check() -> None:
        if expired(settings):
            st.rerun()

    check()


def rate_limited(settings) -> bool:
    """At most `kiosk_questions_per_minute` questions per browser session: a kiosk is not an API."""
    now = time.time()
    recent = [t0 for t0 in st.session_state.get(RATE, []) if now - t0 < 60]
    limited = len(recent) >= settings.kiosk_questions_per_minute
    st.session_state[RATE] = recent if limited else recent + [now]
    return limited


def ask(question: str, language: str) -> None:
    if rate_limited(load_settings()):
        st.session_state[QA] = {"error": t("kiosk_rate_limited", language)}
        return
    try:
        shown = mask(question)
    except PrivacyUnavailable:
        st.session_state[QA] = {"error": t("kiosk_privacy_missing", language)}
        return
    entry = {"question": shown, "masked": shown != question.strip()}
    try:
        # only the masked text leaves the screen: the facade (and its audit log) never sees the raw input
        conversation = st.session_state.setdefault(CONVERSATION, get_assistant().conversation())
        answer = get_assistant().ask(shown, mode="kiosk", conversation=conversation)
    except AssistantError as exc:
        entry["error"] = t("kiosk_error", language, error=exc)
    else:
        internal = internal_sources()
        candidates = [{"title": c.title, "question": c.question} for c in answer.candidates if c.source not in internal]
        entry.update(answer=answer.answer, refused=answer.refused, referral=answer.referral, candidates=candidates,
                     weak=answer.support < load_settings().weak_support and not candidates,
                     where=list(dict.fromkeys(c.where for c in answer.citations if c.source not in internal)))
        if any(c.source in internal for c in answer.citations):  # never expected: mode="kiosk" filters them
            entry.update(answer="", refused=True, where=[])
    st.session_state[QA] = entry


def internal_sources() -> set[str]:
    try:
        return {d["source"] for d in get_assistant().documents() if d.get("audience") == "internal"}
    except AssistantError:
        return set()


def pick(question: str) -> None:
    st.session_state[PICKED] = question


def render_candidates(entry: dict, language: str, nonce: int) -> None:
    """Several guides answer the question: one big button each, asking it again about that one."""
    st.markdown(f"#### {t('kiosk_choose', language)}")
    for j, c in enumerate(entry["candidates"]):
        st.button(t("kiosk_choose_option", language, title=c["title"]), key=f"kiosk_choose_{nonce}_{j}",
                  on_click=pick, args=(c["question"],), icon=":material/arrow_forward:", width="stretch")


def render_answer(entry: dict, language: str, nonce: int = 0) -> None:
    if entry.get("question"):
        st.markdown(f"**{t('kiosk_your_question', language)}**")
        st.markdown(f"> {entry['question']}")
        if entry.get("masked"):
            st.caption(t("kiosk_masked", language))
    if entry.get("error"):
        st.error(entry["error"])
        return
    if entry.get("refused"):
        ref = entry.get("referral") or {}
        contact = f" ({ref['contact']})" if ref.get("contact") and ref["contact"] not in ref.get("department", "") else ""
        st.warning(t("kiosk_refused", language) + "\n\n"
                   + t("kiosk_referral", language, department=ref.get("department", ""), contact=contact))
        return
    st.markdown(f"### {t('kiosk_answer', language)}")
    with st.container(border=True):
        st.markdown(entry["answer"])
    if entry.get("candidates"):
        render_candidates(entry, language, nonce)
    if entry.get("where"):
        st.caption(t("kiosk_where", language, where=", ".join(entry["where"])))
    if entry.get("weak"):
        st.info(t("kiosk_weak", language))


def main() -> None:
    language = lang()
    settings = load_settings()
    if expired(settings) or LAST not in st.session_state:
        reset()
    st.session_state[LAST] = time.time()
    st.markdown(CSS, unsafe_allow_html=True)
    watchdog(settings)
    nonce = st.session_state[NONCE]

    top, home = st.columns([4, 1])
    top.title(t("kiosk_title", language))
    if home.button(t("kiosk_reset", language), key=f"kiosk_home_{nonce}", type="primary", icon=":material/home:",
                   width="stretch"):
        reset()
        st.rerun()
    if welfare_flow.is_open():  # the welfare finder, one question per screen, in place of the question screen
        welfare_flow.render(language, nonce, reset)
        footer(settings, language, expanded=False)
        return
    st.markdown(t("kiosk_intro", language))

    question = None
    with st.form(f"kiosk_form_{nonce}", clear_on_submit=True, border=False):
        typed = st.text_input(t("kiosk_input", language), key=f"kiosk_input_{nonce}",
                              placeholder=t("kiosk_input_placeholder", language), max_chars=300)
        if st.form_submit_button(t("kiosk_ask", language), type="primary") and typed.strip():
            question = typed

    st.markdown(f"#### {t('kiosk_examples_title', language)}")
    examples = t("kiosk_examples", language)
    cols = st.columns(2)
    for i, example in enumerate(examples):
        if cols[i % 2].button(example, key=f"kiosk_example_{nonce}_{i}", width="stretch"):
            question = example
    picked = st.session_state.pop(PICKED, None)  # a candidate's button, pressed on the answer below
    question = question or picked

    # the welfare finder (assistant/welfare/services.py): a few questions, then the services as cards (ui/views/welfare_flow.py)
    st.button(t("kiosk_welfare", language), key=f"kiosk_welfare_{nonce}", on_click=welfare_flow.start,
              icon=":material/search:", help=t("kiosk_welfare_help", language), width="stretch")

    if question:
        with st.spinner():
            ask(question, language)
        # new widget keys: the raw typed text (widget state) is dropped, only the masked copy stays
        st.session_state[NONCE] = nonce + 1
        st.rerun()
    entry = st.session_state.get(QA)
    if entry:
        st.divider()
        render_answer(entry, language, nonce)

    footer(settings, language, expanded=not entry)


def footer(settings, language: str, expanded: bool) -> None:
    st.divider()
    minutes = max(1, round(idle_seconds(settings) / 60))
    with st.expander(t("kiosk_privacy_title", language), expanded=expanded):
        st.markdown(t("kiosk_privacy", language, minutes=minutes))
    st.caption(t("kiosk_idle", language, seconds=idle_seconds(settings)))


main()
