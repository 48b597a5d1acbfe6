"""The public AI-use register entry of this deployment (no login), built from the live system by
assistant/governance/register.py through the facade."""
from __future__ import annotations

import streamlit as st

from assistant.errors import AssistantError
from ui.common import get_assistant, lang
from ui.messages import t


@st.cache_data(ttl=300, show_spinner=False)
def register_entry(generation: str | None, index_dir: str) -> tuple[dict, str]:
    """Cached per index generation for a few minutes: the entry hashes the model weights, which takes a moment."""
    assistant = get_assistant()
    reg = assistant.register(public=True)
    return reg, assistant.register_markdown(reg)


def main() -> None:
    language = lang()
    st.title(t("register_title", language))
    st.caption(t("register_caption", language))
    assistant = get_assistant()
    try:
        info = assistant.info()
        entry = register_entry(info.get("generation"), str(assistant.settings.index_dir))
    except AssistantError as exc:
        st.warning(f"{t('no_index', language)}\n\n{exc}")
        return
    reg, markdown = entry
    st.markdown(markdown)
    with st.expander(t("register_data", language)):
        st.json(reg)


main()
