"""Admin console, behind the password whose hash is in settings (admin_password_hash): upload documents, re-ingest
with a live progress bar and a change report, corpus statistics, index and model information, staff feedback.
Every action checks the admin session again before it runs."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.errors import AssistantError
from assistant.facade import human_size, save_upload, upload_dir
from ui.common import (ADMIN_KEY, admin_enabled, admin_locked_for, admin_login, check_upload, doc_type_label,
                       get_assistant, is_admin, lang, load_settings, read_feedback, supported_suffixes)
from ui.messages import t

REPORT, UPLOADER = "admin_report", "admin_uploader_nonce"


class NotAdmin(Exception):
    pass


def require_admin(settings) -> None:
    if not is_admin(settings):
        raise NotAdmin


def login(settings, language: str) -> None:
    with st.form("admin_login_form"):
        password = st.text_input(t("admin_password", language), type="password", key="admin_password")
        submitted = st.form_submit_button(t("admin_login", language), type="primary")
    if submitted:
        if admin_login(settings, password):
            st.rerun()
        locked = admin_locked_for()
        st.error(t("admin_locked", language, seconds=locked) if locked else t("admin_denied", language))


def upload_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("admin_upload", language))
    suffixes = supported_suffixes(get_assistant())
    st.caption(t("admin_upload_help", language, suffixes=", ".join(suffixes), max_mb=settings.max_file_mb,
                 folder=upload_dir(settings)))
    nonce = st.session_state.get(UPLOADER, 0)
    files = st.file_uploader(t("admin_upload", language), type=[s.lstrip(".") for s in suffixes],
                             accept_multiple_files=True, key=f"admin_files_{nonce}", label_visibility="collapsed",
                             max_upload_size=max(1, int(settings.max_file_mb)))
    if files and st.button(t("admin_upload_button", language), key="admin_save_uploads"):
        save_files(settings, files, suffixes, language)


def save_files(settings, files, suffixes: list[str], language: str) -> None:
    require_admin(settings)
    saved = 0
    for f in files:
        data = f.getvalue()
        problem = check_upload(settings, f.name, len(data), suffixes, language)
        if problem:
            st.error(problem)
            continue
        save_upload(settings, f.name, data)
        st.success(t("admin_upload_saved", language, name=f.name, size=human_size(len(data))))
        saved += 1
    if saved:
        st.session_state[UPLOADER] = st.session_state.get(UPLOADER, 0) + 1


def ingest_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("admin_ingest", language))
    st.caption(t("admin_ingest_help", language, folder=settings.corpus_dir))
    dry_run = st.checkbox(t("admin_dry_run", language), key="admin_dry_run")
    if st.button(t("admin_ingest", language), key="admin_ingest", type="primary"):
        run_ingest(settings, dry_run, language)
    report = st.session_state.get(REPORT)
    if report:
        render_report(report, language)


def run_ingest(settings, dry_run: bool, language: str) -> None:
    require_admin(settings)
    bar = st.progress(0.0, text=t("admin_ingest_running", language, done=0, total="…"))

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0,
                     text=t("admin_ingest_running", language, done=done, total=total))

    assistant = get_assistant()
    try:
        report = assistant.ingest([Path(settings.corpus_dir)], dry_run=dry_run, progress=progress, by="admin-ui")
    except AssistantError as exc:
        bar.empty()
        st.error(t("admin_ingest_error", language, error=exc))
        return
    bar.progress(1.0, text=t("admin_ingest_done", language, seconds=round(report.seconds, 1)))
    st.session_state[REPORT] = report.to_json()


def render_report(data: dict, language: str) -> None:
    st.markdown(f"**{t('admin_report', language)}**")
    if data.get("dry_run"):
        st.info(t("admin_ingest_dry", language))
    cols = st.columns(6)
    for col, key in zip(cols, ("added", "updated", "removed", "unchanged", "chunks", "embedded")):
        col.metric(t(f"admin_{key}", language), data.get(key, 0))
    docs = data.get("documents", {})
    for key in ("added", "updated", "removed"):
        if docs.get(key):
            st.markdown(f"{t(f'admin_{key}', language)}: " + ", ".join(f"`{s}`" for s in docs[key]))
    render_failed(data.get("failed", []), language)


def render_failed(failed: list[dict], language: str) -> None:
    st.markdown(f"**{t('admin_failed', language)}**")
    if not failed:
        st.caption(t("admin_failed_none", language))
        return
    st.dataframe([{t("col_source", language): f.get("source"), t("col_error", language): f.get("error")}
                  for f in failed], hide_index=True)


def stats_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("admin_stats", language))
    assistant = get_assistant()
    # a damaged live generation: answers come from an older intact one (degraded) or not at all (damaged); the
    # reason names the file and the fix (`assistant ingest --rebuild`)
    health = assistant.index_health()
    if health.get("status") in ("degraded", "damaged"):
        (st.warning if health["status"] == "degraded" else st.error)(health["reason"])
    try:
        documents = assistant.documents()
        info = assistant.info()
    except AssistantError as exc:
        st.warning(f"{t('no_index', language)}\n\n{exc}")
        documents, info = [], {}
    manifest = info.get("manifest") or {}
    cols = st.columns(4)
    cols[0].metric(t("admin_documents", language), len(documents))
    cols[1].metric(t("admin_total_chunks", language), sum(int(d.get("n_chunks") or 0) for d in documents))
    cols[2].metric(t("admin_internal", language), sum(d.get("audience") == "internal" for d in documents))
    last = manifest.get("updated_at") or max((d.get("ingested_at") or "" for d in documents), default="")
    cols[3].metric(t("admin_last_update", language), (last or "-")[:16].replace("T", " "))
    by_type: dict[str, int] = {}
    for d in documents:
        by_type[d["doc_type"]] = by_type.get(d["doc_type"], 0) + 1
    if by_type:
        st.markdown(f"**{t('admin_by_type', language)}**")
        st.dataframe([{t("col_type", language): doc_type_label(k, language), t("admin_documents", language): v}
                      for k, v in sorted(by_type.items())], hide_index=True)
    runs = ingest_history(assistant)
    if runs:
        st.markdown(f"**{t('admin_last_report', language, at=runs[0].get('at', '-'))}**")
        render_failed(runs[0].get("report", {}).get("failed", []), language)
    if documents:
        with st.expander(t("admin_doc_list", language)):
            st.dataframe([{t("col_title", language): d["title"], t("col_type", language): doc_type_label(d["doc_type"], language),
                           t("col_department", language): d.get("department") or "",
                           t("col_audience", language): d.get("audience"),
                           t("col_effective", language): d.get("effective_date") or "",
                           t("col_chunks", language): d.get("n_chunks"),
                           t("col_ingested", language): d.get("ingested_at"),
                           t("col_source", language): d["source"]} for d in documents], hide_index=True)


def ingest_history(assistant) -> list[dict]:
    try:
        return assistant.history(20)
    except (AssistantError, OSError):
        return []


def history_section(settings, language: str) -> None:
    require_admin(settings)
    runs = ingest_history(get_assistant())
    if not runs:
        return
    st.markdown(f"**{t('admin_history', language)}**")
    rows = []
    for run in runs:
        report = run.get("report", {})
        rows.append({t("col_at", language): run.get("at"), t("col_by", language): run.get("by"),
                     t("admin_added", language): report.get("added"), t("admin_updated", language): report.get("updated"),
                     t("admin_removed", language): report.get("removed"), t("admin_chunks", language): report.get("chunks"),
                     t("admin_failed", language): len(report.get("failed") or []),
                     t("col_changes", language): "; ".join(
                         f"{c['source']} ({c['change']}{': ' + ', '.join(c['articles'][:5]) if c.get('articles') else ''})"
                         for c in run.get("changes", []) if c.get("change") != "unchanged")})
    st.dataframe(rows, hide_index=True)


def info_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("admin_info", language))
    try:
        st.json(get_assistant().info())
    except AssistantError as exc:
        st.warning(str(exc))


def feedback_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("admin_feedback", language))
    records = read_feedback(settings)
    if not records:
        st.caption(t("admin_feedback_none", language))
        return
    up = sum(r.get("rating") == "up" for r in records)
    st.markdown(t("admin_feedback_counts", language, up=up, down=len(records) - up))
    st.dataframe([{t("col_at", language): r.get("at"), t("col_rating", language): "👍" if r.get("rating") == "up" else "👎",
                   t("col_comment", language): r.get("comment"), t("col_question", language): r.get("question"),
                   t("col_citations", language): " ".join(r.get("citations") or [])} for r in reversed(records)],
                 hide_index=True)


def main() -> None:
    language = lang()
    settings = load_settings()
    st.title(t("admin_title", language))
    if not admin_enabled(settings):
        st.info(t("admin_disabled", language))
        return
    if not is_admin(settings):
        login(settings, language)
        return
    if st.sidebar.button(t("admin_logout", language), key="admin_logout"):
        st.session_state.pop(ADMIN_KEY, None)
        st.rerun()
    try:
        tabs = st.tabs([t("admin_upload", language), t("admin_stats", language), t("admin_info", language),
                        t("admin_feedback", language)])
        with tabs[0]:
            upload_section(settings, language)
            st.divider()
            ingest_section(settings, language)
        with tabs[1]:
            stats_section(settings, language)
            history_section(settings, language)
        with tabs[2]:
            info_section(settings, language)
        with tabs[3]:
            feedback_section(settings, language)
    except NotAdmin:
        st.error(t("admin_required", language))


main()
