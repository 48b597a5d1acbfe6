"""Streamlit AppTest: the chat page asks the real assistant and renders the answer with its sources."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from .conftest import ROOT


def test_chat_page_answers_with_sources(assistant, monkeypatch):
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(assistant.settings.index_dir))
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert "행정 도우미" in at.title[0].value
    at.chat_input[0].set_value("기초연금은 몇 살부터 받을 수 있나요?").run()
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert "기초연금" in texts
    assert at.expander, "sources are shown under the answer"
