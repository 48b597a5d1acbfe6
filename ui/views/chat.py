"""Staff chat: filtered questions, streamed answers, clickable sources opening the full text on the right, copy,
feedback for the admins, and the session's conversation as a Markdown download. When several documents answer a
question that names none, their titles are buttons that ask it again about the one chosen."""
from __future__ import annotations

import datetime as dt
import html

import streamlit as st

from assistant.errors import AssistantError
from assistant.facade import Filters
from ui.common import (PrivacyUnavailable, answer_text, citation_chunk, doc_type_label, export_markdown,
                       get_assistant, lang, load_settings)
from ui.messages import t

HISTORY, SELECTED, CONVERSATION = "chat_history", "chat_selected", "chat_conversation"
PICKED = "chat_picked"  # a candidate's question, asked on the next run as if typed


def sidebar_filters(documents: list[dict], language: str) -> tuple[Filters, str]:
    st.sidebar.subheader(t("filters", language))
    types = sorted({d["doc_type"] for d in documents})
    departments = sorted({d["department"] for d in documents if d.get("department")})
    chosen_types = st.sidebar.multiselect(t("filter_doc_types", language), types, key="chat_doc_types",
                                          format_func=lambda x: doc_type_label(x, language))
    chosen_deps = st.sidebar.multiselect(t("filter_departments", language), departments, key="chat_departments")
    in_force = st.sidebar.toggle(t("filter_in_force", language), key="chat_in_force")
    date = None
    if in_force:
        today = dt.date.today()
        date = st.sidebar.date_input(t("filter_date", language), value=today, key="chat_date",
                                     min_value=dt.date(1948, 1, 1), max_value=today + dt.timedelta(days=3660))
    filters = Filters(tuple(chosen_types), tuple(chosen_deps), False, date.isoformat() if date else None)
    parts = [", ".join(doc_type_label(x, language) for x in chosen_types), ", ".join(chosen_deps),
             f"{t('filter_date', language)} {date.isoformat()}" if date else ""]
    described = " · ".join(p for p in parts if p) or t("filters_none", language)
    return filters, described


def sidebar_history(history: list[dict], language: str) -> None:
    st.sidebar.divider()
    st.sidebar.subheader(t("history", language))
    if not history:
        st.sidebar.caption(t("history_empty", language))
        return
    for i, turn in enumerate(history, 1):
        st.sidebar.caption(f"{i}. {turn['question'][:40]}")
    st.sidebar.download_button(t("history_export", language), export_markdown(history, language).encode("utf-8"),
                               file_name=f"assistant-{dt.datetime.now():%Y%m%d-%H%M}.md", mime="text/markdown",
                               key="chat_export")
    if st.sidebar.button(t("history_clear", language), key="chat_clear", icon=":material/add_comment:"):
        st.session_state[HISTORY] = []
        st.session_state.pop(SELECTED, None)
        st.session_state.pop(CONVERSATION, None)  # a new conversation carries nothing from the last
        st.session_state.pop(PICKED, None)
        st.rerun()


def select_citation(turn: int, index: int) -> None:
    st.session_state[SELECTED] = (turn, index)


def pick(question: str) -> None:
    st.session_state[PICKED] = question


def render_candidates(i: int, answer, language: str) -> None:
    """Outcome "choose": one button per document, asking the question again with that document named."""
    st.caption(t("choose_prompt", language))
    with st.container(horizontal=True):
        for j, c in enumerate(answer.candidates):
            st.button(c.title, key=f"choose_{i}_{j}", icon=":material/description:", help=c.question,
                      on_click=pick, args=(c.question,))


def render_warning(answer, weak: float, language: str) -> None:
    support = f"{answer.support:.2f}"
    if answer.refused:
        text = t("refused_detail", language, support=support)
        ref = answer.referral or {}
        if ref.get("department"):
            contact = f" ({ref['contact']})" if ref.get("contact") and ref["contact"] not in ref["department"] else ""
            text += "  \n" + t("referral", language, department=ref["department"], contact=contact)
        st.warning(text, icon="⚠️")
    elif answer.support < weak and not answer.candidates:  # a question back claims nothing to be weak about
        st.warning(t("weak", language, support=support), icon="⚠️")


def render_turn(i: int, turn: dict, settings, language: str) -> None:
    answer = turn["answer"]
    with st.chat_message("user"):
        st.write(turn["question"])
        st.caption(t("filters_active", language, filters=turn["filters"]))
    with st.chat_message("assistant"):
        st.markdown(answer.answer)
        render_warning(answer, settings.weak_support, language)
        if answer.candidates:
            render_candidates(i, answer, language)
        if answer.citations:
            st.caption(f"{t('sources', language)} · {t('citations_hint', language)}")
            for source in answer.sources:  # a 호 quoted under its 항 opens with it: one button
                c, j = source.citation, source.index
                page = f" · {t('page', language, page=c.page)}" if c.page else ""
                quote = c.quote if len(c.quote) <= 48 else c.quote[:47] + "…"
                st.button(f"{source.label}{page} — {quote}", key=f"cite_{i}_{j}", type="tertiary",
                          icon=":material/article:", on_click=select_citation, args=(i, j))
        with st.expander(t("copy", language)):
            st.caption(t("copy_hint", language))
            st.code(answer_text(answer, language), language=None, wrap_lines=True)
        st.caption(t("timings", language, model=answer.model, **answer.timings_ms))
        render_feedback(i, turn, settings, language)


def render_feedback(i: int, turn: dict, settings, language: str) -> None:
    if turn.get("feedback"):
        st.caption(t("feedback_thanks", language))
        return
    comment = st.text_input(t("feedback_comment", language), key=f"fb_comment_{i}")
    st.caption(t("feedback_prompt", language))
    with st.container(horizontal=True):  # buttons as wide as their labels: never cut to "도…"
        rating = "up" if st.button(t("feedback_up", language), key=f"fb_up_{i}", icon=":material/thumb_up:") else None
        if st.button(t("feedback_down", language), key=f"fb_down_{i}", icon=":material/thumb_down:"):
            rating = "down"
    if rating:
        try:
            get_assistant().save_feedback(rating, comment, turn["question"], turn["answer"])
        except (OSError, PrivacyUnavailable, AssistantError) as exc:
            st.error(t("feedback_error", language, error=exc))
            return
        turn["feedback"] = rating
        st.rerun()


def render_panel(history: list[dict], language: str) -> None:
    st.subheader(t("panel_title", language))
    selected = st.session_state.get(SELECTED)
    if not selected or selected[0] >= len(history) or selected[1] >= len(history[selected[0]]["answer"].citations):
        st.caption(t("panel_empty", language))
        return
    answer = history[selected[0]]["answer"]
    c = answer.citations[selected[1]]
    chunk = citation_chunk(answer, c)
    st.markdown(f"#### {c.title}")
    heading = c.anchor if not chunk else chunk.anchor + (f" ({chunk.article_title})" if chunk.article_title
                                                          and chunk.article_title not in chunk.anchor else "")
    st.markdown(f"**{heading}**" + (f" · {t('panel_page', language, page=c.page)}" if c.page else ""))
    st.caption(t("panel_source", language, source=c.source))
    if chunk is None:
        st.info(t("panel_missing", language))
    else:
        st.caption(t("panel_meta", language, doc_type=doc_type_label(chunk.doc_type, language),
                     department=chunk.department or "-", effective_date=chunk.effective_date or "-"))
        body = html.escape(chunk.text)
        quote = html.escape(c.quote)
        if quote and quote in body:
            body = body.replace(quote, f"<mark>{quote}</mark>", 1)
        st.markdown(f'<div class="source-text" style="white-space: pre-wrap; line-height: 1.7">{body}</div>',
                    unsafe_allow_html=True)
    st.markdown(f"**{t('panel_quote', language)}**")
    st.caption(c.quote)
    if c.links:
        render_chain(c, language)
    if st.button(t("panel_close", language), key="panel_close"):
        st.session_state.pop(SELECTED, None)
        st.rerun()


def render_chain(c, language: str) -> None:
    """The cited article's links, then it and the articles linked to it side by side by level (3단비교)."""
    st.markdown(f"**{t('panel_chain', language)}**")
    for link in c.links:
        st.markdown(f"- {t('relation_' + link.relation, language)}: 「{link.title}」 {link.anchor}")
        st.caption(link.sentence)
    try:
        view = get_assistant().article(f"{c.title} {c.anchor.split(' ')[0]}")
    except AssistantError:
        return  # the article left the index since this answer was given
    st.markdown(f"**{t('panel_compare', language)}**")
    for column, (level, articles) in zip(st.columns(len(view["columns"])), view["columns"].items()):
        with column:
            st.markdown(f"**{level}**")
            for article in articles:
                st.markdown(f"「{article['title']}」 {article['anchor']}")
                st.markdown(f'<div class="source-text" style="white-space: pre-wrap; font-size: 0.85em">'
                            f'{html.escape(article["text"])}</div>', unsafe_allow_html=True)


def ask(question: str, filters: Filters, described: str, history: list[dict], language: str) -> None:
    with st.chat_message("user"):
        st.write(question)
        st.caption(t("filters_active", language, filters=described))
    with st.chat_message("assistant"):
        try:
            # the conversation on screen is the context: a follow-up takes the subject of the turns before it
            conversation = st.session_state.setdefault(CONVERSATION, get_assistant().conversation())
            stream = get_assistant().ask_stream(question, mode="staff", filters=filters, conversation=conversation)
            st.write_stream(stream)
        except AssistantError as exc:
            st.error(t("error", language, error=exc))
            return
    at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    history.append({"question": question, "answer": stream.result, "filters": described, "at": at})
    st.session_state[SELECTED] = (len(history) - 1, 0) if stream.result.citations else None
    st.rerun()


def main() -> None:
    language = lang()
    settings = load_settings()
    st.title(t("app_title", language))
    st.caption(t("caption", language))
    history = st.session_state.setdefault(HISTORY, [])
    try:
        documents = get_assistant().documents()
    except AssistantError as exc:
        st.warning(f"{t('no_index', language)}\n\n{exc}")
        return
    filters, described = sidebar_filters(documents, language)
    sidebar_history(history, language)
    picked = st.session_state.pop(PICKED, None)
    question = st.chat_input(t("ask_placeholder", language)) or picked
    left, right = st.columns([3, 2], gap="large")
    with left:
        for i, turn in enumerate(history):
            render_turn(i, turn, settings, language)
        if question:
            ask(question, filters, described, history, language)
    with right:
        with st.container(border=True):
            render_panel(history, language)


main()
