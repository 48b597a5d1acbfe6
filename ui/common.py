"""Shared helpers of the Streamlit pages: the cached `Assistant`, personal-data masking and upload checks. No
indexing, retrieval or feedback logic lives here: pages only call the facade."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from assistant import Settings
from ui.messages import t

ADMIN_KEY = "admin_verified_hash"


def load_settings() -> Settings:
    return Settings.load()


@st.cache_resource(show_spinner=False)
def _assistant(key: str, _settings: Settings):
    from assistant import Assistant

    return Assistant(_settings)


def get_assistant():
    """Built once per process and settings; models load on first use, never at import."""
    settings = load_settings()
    return _assistant(repr(settings), settings)


def lang() -> str:
    return st.session_state.get("lang", "ko")


def doc_type_label(doc_type: str, language: str) -> str:
    key = f"doc_type_{doc_type}"
    try:
        return t(key, language)
    except KeyError:
        return doc_type


# ---------------------------------------------------------------- personal data


class PrivacyUnavailable(RuntimeError):
    pass


def mask(text: str) -> str:
    """The text with personal data masked (`Assistant.mask`, assistant/governance/privacy.py). Fails closed: no masker, no text."""
    try:
        from assistant.facade import Assistant
    except ImportError as exc:
        raise PrivacyUnavailable(str(exc)) from exc
    out = Assistant.mask(text or "")
    if isinstance(out, tuple):  # (masked, findings) style
        out = out[0]
    return getattr(out, "text", out)


# ---------------------------------------------------------------- uploads


def supported_suffixes(assistant) -> list[str]:
    return sorted(assistant.supported_suffixes())


def check_upload(settings: Settings, name: str, size: int, suffixes: list[str], language: str = "ko") -> str | None:
    """None when the file may be saved, else the reason in the screen's language (the check is the core's)."""
    from assistant.facade import UploadRejected, check_upload as check

    try:
        check(settings, name, size, suffixes)
    except UploadRejected as exc:
        return t(f"admin_upload_{exc.kind}", language, **exc.details)
    return None


# ---------------------------------------------------------------- admin session


def admin_enabled(settings: Settings) -> bool:
    from ui.admin_hash import is_valid

    return is_valid(settings.admin_password_hash)


def admin_login(settings: Settings, password: str) -> bool:
    """Checks the password unless logins are locked after repeated failures; every failure is audited."""
    from assistant.facade import ADMIN_LOGINS
    from ui.admin_hash import verify

    stored = settings.admin_password_hash
    if not ADMIN_LOGINS.locked_for() and admin_enabled(settings) and verify(password, stored):
        st.session_state[ADMIN_KEY] = stored
        ADMIN_LOGINS.succeeded()
        return True
    st.session_state.pop(ADMIN_KEY, None)
    if not ADMIN_LOGINS.locked_for():
        ADMIN_LOGINS.failed(get_assistant())
    return False


def admin_locked_for() -> int:
    from assistant.facade import ADMIN_LOGINS

    return ADMIN_LOGINS.locked_for()


def is_admin(settings: Settings) -> bool:
    """Logged in against the hash configured now (changing the password ends every admin session)."""
    stored = settings.admin_password_hash
    return admin_enabled(settings) and st.session_state.get(ADMIN_KEY) == stored


# ---------------------------------------------------------------- answers as text


def citation_chunk(answer, citation):
    """The retrieved chunk a citation quotes (its full article or section text), from the answer's own hits."""
    for hit in answer.hits:
        c = hit.chunk
        if c.source == citation.source and citation.quote in c.text:
            return c
    for hit in answer.hits:
        if hit.chunk.source == citation.source and citation.anchor.startswith(hit.chunk.anchor):
            return hit.chunk
    return None


def citation_line(c, language: str) -> str:
    page = f" ({t('page', language, page=c.page)})" if c.page else ""
    return f"{c.label}{page} `{c.source}` — {c.quote}"


def answer_text(answer, language: str) -> str:
    """The answer with its sources, for copying into a reply or a memo."""
    lines = [answer.answer.strip()]
    if answer.citations:
        lines += ["", f"{t('sources', language)}:"]
        for c in answer.citations:
            page = f", {t('page', language, page=c.page)}" if c.page else ""
            lines.append(f"- {c.label} {c.source}{page}: {c.quote}")
    return "\n".join(lines)


def export_markdown(history: list[dict], language: str) -> str:
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    out = [f"# {t('export_title', language)}", "", f"{t('export_exported', language)}: {now}", ""]
    for i, turn in enumerate(history, 1):
        answer = turn["answer"]
        out += [f"## {i}. {turn['question']}", "", f"*{turn.get('at', '')}*", "",
                f"**{t('export_answer', language)}**", "", answer.answer.strip(), ""]
        if answer.citations:
            out += [f"**{t('export_sources', language)}**", ""]
            out += [f"- {citation_line(c, language)}" for c in answer.citations]
            out.append("")
    return "\n".join(out)
