"""The kiosk's welfare finder: a few questions, one per screen, answered with large buttons, then the services the
finder (`Assistant.welfare_finder`, assistant/welfare/services.py) judges likely or worth checking, as cards with the
guide's own words.

Privacy: the answers live only in st.session_state under keys starting with "kiosk_" (so the kiosk's reset, on
"처음으로" or after the idle timeout, forgets them); the profile built from them is passed to the finder in memory and
never written to disk, logged or kept anywhere else. Not a page of its own: ui/views/kiosk.py calls `render`."""
from __future__ import annotations

import re
from typing import Callable

import streamlit as st

from assistant.errors import AssistantError
from ui.messages import t

STEP, ANSWERS = "kiosk_welfare_step", "kiosk_welfare_answers"  # both under the kiosk prefix: reset clears them
RESULTS = "results"

# every question: (name, [(option, the profile fields it sets), ...]); labels live in ui/messages.py
# ages are bands, matched with one representative age each (shown to the user on the question and the results)
QUESTIONS: list[tuple[str, list[tuple[str, dict]]]] = [
    ("age", [("u19", {"age": 15}), ("19_34", {"age": 27}), ("35_64", {"age": 50}), ("65p", {"age": 70})]),
    ("household", [("single", {"household_type": "single", "household_size": 1}),
                   ("couple", {"household_type": "couple", "household_size": 2}),
                   ("single_parent", {"household_type": "single_parent"}),
                   ("with_children", {"household_type": "with_children"}),
                   ("other", {"household_type": "other"})]),
    ("children", [("0", {"children": 0}), ("1", {"children": 1}), ("2", {"children": 2}), ("3p", {"children": 3})]),
    # a band is matched at its upper bound (the finder's ceilings are "이하"); "잘 모름" leaves the field out
    ("income", [("30", {"income_ratio": 30}), ("50", {"income_ratio": 50}), ("75", {"income_ratio": 75}),
                ("100", {"income_ratio": 100}), ("over", {"income_ratio": 101}), ("unknown", {})]),
    ("disability", [("yes", {"disability": True}), ("no", {"disability": False}), ("unknown", {})]),
    ("employment", [("employed", {"employment": "employed"}), ("unemployed", {"employment": "unemployed"}),
                    ("student", {"employment": "student"}), ("retired", {"employment": "retired"}),
                    ("other", {"employment": "other"})]),
]
OPTIONS = {name: dict(options) for name, options in QUESTIONS}
MD_SPECIAL = re.compile(r"([\\`*_~$\[\]<|]|^[#>])", re.M)  # ">" only quotes at a line start


def md(text: str) -> str:
    """Plain text for st.markdown: no accidental strike-through (~), maths ($), links or HTML from a guide."""
    return MD_SPECIAL.sub(r"\\\1", str(text or ""))


def is_open() -> bool:
    return STEP in st.session_state


def start() -> None:
    st.session_state[STEP] = QUESTIONS[0][0]
    st.session_state[ANSWERS] = {}


def close() -> None:
    st.session_state.pop(STEP, None)
    st.session_state.pop(ANSWERS, None)


def answers() -> dict:
    return st.session_state.setdefault(ANSWERS, {})


def steps(given: dict) -> list[str]:
    """The questions to ask: no 자녀 수 for someone living alone (counted as 0)."""
    return [name for name, _ in QUESTIONS if not (name == "children" and given.get("household") == "single")]


def profile(given: dict) -> dict:
    """The finder's profile from the answers (in memory only); an unanswered or 잘 모름 question sets nothing."""
    out: dict = {}
    for name in steps(given):
        option = given.get(name)
        if option in OPTIONS[name]:
            out.update(OPTIONS[name][option])
    if given.get("household") == "single":
        out["children"] = 0
    return out


def choose(name: str, option: str) -> None:
    given = answers()
    given[name] = option
    order = steps(given)
    later = order[order.index(name) + 1:]
    st.session_state[STEP] = later[0] if later else RESULTS


def back() -> None:
    order = steps(answers())
    step = st.session_state.get(STEP)
    if step == RESULTS:
        st.session_state[STEP] = order[-1]
    elif step in order and order.index(step) > 0:
        st.session_state[STEP] = order[order.index(step) - 1]
    else:
        close()  # back from the first question: the kiosk's start screen (nothing of the answers is kept)


def nav(language: str, nonce: int, reset: Callable[[], None], where: str) -> None:
    left, right = st.columns(2)
    left.button(t("kiosk_wf_back", language), key=f"kiosk_wf_back_{nonce}_{where}", on_click=back,
                icon=":material/arrow_back:", width="stretch")
    if right.button(t("kiosk_reset", language), key=f"kiosk_wf_home_{nonce}_{where}", icon=":material/home:",
                    width="stretch"):
        reset()
        st.rerun()


def question(name: str, language: str, nonce: int) -> None:
    order = steps(answers())
    st.caption(t("kiosk_wf_progress", language, n=order.index(name) + 1, total=len(order)))
    st.markdown(f"## {t(f'kiosk_wf_q_{name}', language)}")
    st.markdown(t(f"kiosk_wf_help_{name}", language))
    chosen = answers().get(name)
    options = [option for option, _ in dict(QUESTIONS)[name]]
    cols = st.columns(2)
    for i, option in enumerate(options):
        cols[i % 2].button(t(f"kiosk_wf_{name}_{option}", language), key=f"kiosk_wf_{nonce}_{name}_{option}",
                           on_click=choose, args=(name, option), type="primary" if option == chosen else "secondary",
                           width="stretch")


def summary(given: dict, language: str) -> str:
    """What the results were computed from, in words, the representative age and income included."""
    parts = []
    for name in steps(given):
        option = given.get(name)
        if option is not None:
            parts.append(t(f"kiosk_wf_used_{name}_{option}", language))
    return " · ".join(parts)


def cite_label(c: dict, language: str) -> str:
    """Guide title and anchor (the title not repeated when the anchor starts with it), and the PDF page."""
    anchor = c["anchor"]
    if anchor.startswith(c["title"] + " > "):
        anchor = anchor[len(c["title"]) + 3:]
    elif anchor == c["title"]:
        anchor = ""
    page = f" ({t('page', language, page=c['page'])})" if c.get("page") else ""
    return c["title"] + (f" › {anchor}" if anchor else "") + page


def card(service: dict, language: str) -> None:
    with st.container(border=True):
        st.markdown(f"### {md(service['name'])}")
        badge = "kiosk_wf_badge_yes" if service["eligible"] == "yes" else "kiosk_wf_badge_maybe"
        color = "green" if service["eligible"] == "yes" else "orange"
        icon = ":material/check_circle:" if service["eligible"] == "yes" else ":material/help:"
        st.markdown(f":{color}-background[{icon} **{t(badge, language)}**]")  # a badge at the kiosk's type size
        st.markdown(md(service["why"]))
        if service.get("benefit"):
            st.markdown(f"**{t('kiosk_wf_benefit', language)}** {md(service['benefit'])}")
        if service.get("citations"):
            lines = [f"**{t('kiosk_wf_sources', language)}**"]
            for c in service["citations"]:
                lines.append(f"- :material/description: {md(cite_label(c, language))}: “{md(' '.join(c['quote'].split()))}”")
            st.markdown("\n".join(lines))
        with st.expander(t("kiosk_wf_where", language)):
            st.markdown(md(service.get("apply") or t("kiosk_wf_apply_missing", language)))
            if service.get("department"):
                st.markdown(f"**{t('kiosk_wf_department', language)}** {md(service['department'])}")
            if service.get("contact"):
                st.markdown(f"**{t('kiosk_wf_contact', language)}** {md(service['contact'])}")
            if service.get("documents"):
                st.markdown(f"**{t('kiosk_wf_documents', language)}**\n\n"
                            + "\n".join(f"- {md(d)}" for d in service["documents"]))


def results(language: str) -> None:
    from ui.common import get_assistant

    given = answers()
    st.markdown(f"## {t('kiosk_wf_results_title', language)}")
    st.caption(t("kiosk_wf_used", language, summary=summary(given, language)))
    try:
        services = get_assistant().welfare_finder(profile(given))["services"]
    except AssistantError as exc:
        st.error(t("kiosk_wf_error", language, error=exc))
        return
    shown = [s for s in services if s["eligible"] in ("yes", "maybe")]
    hidden = [s for s in services if s["eligible"] not in ("yes", "maybe")]
    if not shown:
        st.info(t("kiosk_wf_none", language))
    for service in shown:
        card(service, language)
    if hidden:
        with st.expander(t("kiosk_wf_hidden", language, n=len(hidden))):
            st.markdown("\n".join(f"- {md(s['name'])}" for s in hidden))
    st.info(t("kiosk_wf_disclaimer", language))


def render(language: str, nonce: int, reset: Callable[[], None]) -> None:
    """The finder in place of the question screen: the current question, or the results."""
    step = st.session_state.get(STEP)
    if step != RESULTS and step not in steps(answers()):
        step = st.session_state[STEP] = QUESTIONS[0][0]
    st.markdown(f"#### {t('kiosk_wf_title', language)}")
    if step == RESULTS:
        results(language)
    else:
        question(step, language, nonce)
    st.divider()
    nav(language, nonce, reset, "bottom")
