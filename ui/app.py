"""Staff chat: question box, streamed answer, quoted sources under it."""
from __future__ import annotations

import streamlit as st

from assistant import Assistant, Settings
from assistant.errors import AssistantError
from ui.messages import t


@st.cache_resource(show_spinner=False)
def get_assistant() -> Assistant:
    """Built once per process; models load on first use, never at import."""
    return Assistant(Settings.load())


def render_sources(answer, lang: str) -> None:
    if not answer.citations:
        return
    with st.expander(t("sources", lang), expanded=True):
        for c in answer.citations:
            page = f" · {t('page', lang, page=c.page)}" if c.page else ""
            st.markdown(f"**{c.title} {c.anchor}**{page}  \n`{c.source}`")
            st.caption(c.quote)


def main() -> None:
    st.set_page_config(page_title="행정 도우미", page_icon="🏛️", layout="wide")
    lang = st.sidebar.radio("언어 / Language", ["ko", "en"], format_func=lambda x: "한국어" if x == "ko" else "English")
    st.title(t("app_title", lang))
    st.caption(t("caption", lang))
    history = st.session_state.setdefault("history", [])
    for turn in history:
        with st.chat_message("user"):
            st.write(turn["question"])
        with st.chat_message("assistant"):
            st.markdown(turn["answer"].answer)
            render_sources(turn["answer"], lang)
    question = st.chat_input(t("ask_placeholder", lang))
    if not question:
        return
    with st.chat_message("user"):
        st.write(question)
    with st.chat_message("assistant"):
        try:
            stream = get_assistant().ask_stream(question, mode="staff")
            st.write_stream(stream)
        except AssistantError as exc:
            st.error(t("error", lang, error=exc))
            return
        answer = stream.result
        if answer.refused:
            st.warning(t("refused", lang))
        render_sources(answer, lang)
        st.caption(t("timings", lang, model=answer.model, **answer.timings_ms))
    history.append({"question": question, "answer": answer})


main()
