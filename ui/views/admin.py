"""Admin console, behind the password whose hash is in settings (admin_password_hash): upload documents, re-ingest
with a live progress bar and a change report, corpus statistics, index and model information, staff feedback, and
the review queue (label questions, run the organisation's regression set, tune the learned models and undo).
Every action checks the admin session again before it runs."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.errors import AssistantError
from assistant.facade import REVIEW_VERDICTS, human_size, save_upload, upload_dir
from ui.common import (ADMIN_KEY, admin_enabled, admin_locked_for, admin_login, check_upload, doc_type_label,
                       get_assistant, is_admin, lang, load_settings, supported_suffixes)
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
    records = get_assistant().feedback()
    if not records:
        st.caption(t("admin_feedback_none", language))
        return
    up = sum(r.get("rating") == "up" for r in records)
    st.markdown(t("admin_feedback_counts", language, up=up, down=len(records) - up))
    st.dataframe([{t("col_at", language): r.get("at"), t("col_rating", language): "👍" if r.get("rating") == "up" else "👎",
                   t("col_comment", language): r.get("comment"), t("col_question", language): r.get("question"),
                   t("col_citations", language): " ".join(r.get("citations") or [])} for r in reversed(records)],
                 hide_index=True)


# ---------------------------------------------------------------- review queue, regression set, tuning (#31)

REVIEWER, FLASH, TUNED = "review_reviewer", "review_flash", "admin_tune_result"
PICK = "review_pick"
CANDIDATE_CHARS = 300
REGRESSION_FIGURES = ("recall@1", "mrr", "citation_precision", "refusal_accuracy")
TUNE_FIGURES = ("recall@1", "mrr", "refusal_accuracy", "answerable_refused", "refusal_accuracy_with_held_out")


def origin_label(origin: str, language: str) -> str:
    try:
        return t(f"review_origin_{origin}", language)
    except KeyError:
        return origin


def review_section(settings, language: str) -> None:
    """The questions waiting for a label (newest first within 👎, refusals, sample: the facade's order) and the
    verdict form for the one picked."""
    require_admin(settings)
    st.subheader(t("admin_review", language))
    st.caption(t("review_help", language))
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)
    try:
        items = get_assistant().review_queue()
    except AssistantError as exc:
        st.error(str(exc))
        return
    if not items:
        st.caption(t("review_none", language))
        return
    st.markdown(t("review_count", language, n=len(items)))
    st.dataframe([{t("col_origin", language): origin_label(i.origin, language), t("col_at", language): i.at,
                   t("col_question", language): i.question, t("col_answer", language): i.answer,
                   t("col_citations", language): " · ".join(i.cited)} for i in items], hide_index=True)
    by_key = {i.key: i for i in items}
    if st.session_state.get(PICK) not in by_key:  # the one picked was labelled: the top one, in the browser too
        st.session_state[PICK] = items[0].key
    key = st.selectbox(t("review_pick", language), list(by_key), key=PICK,
                       format_func=lambda k: f"{origin_label(by_key[k].origin, language)} · {by_key[k].question}")
    review_item(settings, by_key[key], language)


def review_item(settings, item, language: str) -> None:
    require_admin(settings)
    origin = origin_label(item.origin, language)
    st.markdown(f"**{t('col_question', language)}** ({origin}, {item.at}): {item.question}")
    st.markdown(f"**{t('review_answer', language)}**")
    st.text(item.answer or "-")
    cited = " · ".join(item.cited) if item.cited else t("review_no_citations", language)
    st.markdown(f"**{t('review_citations', language)}**: {cited}")
    try:
        candidates = get_assistant().review_candidates(item.question)
    except AssistantError as exc:
        st.error(str(exc))
        candidates = []
    st.markdown(f"**{t('review_candidates', language, n=len(candidates))}**")
    if not candidates:
        st.caption(t("review_candidates_none", language))
    for n, c in enumerate(candidates, 1):
        text = c["text"][:CANDIDATE_CHARS] + ("…" if len(c["text"]) > CANDIDATE_CHARS else "")
        st.markdown(f"{n}. **{c['title']}** · {c['anchor']} · `{c['source']}`")
        st.caption(text)
    verdict_form(settings, item, candidates, language)


def verdict_form(settings, item, candidates: list[dict], language: str) -> None:
    require_admin(settings)
    verdict = st.radio(t("review_verdict", language), REVIEW_VERDICTS, key=f"review_verdict_{item.key}",
                       format_func=lambda v: t(f"review_verdict_{v}", language))
    passage, documents = None, []
    if verdict == "passage":
        picked = st.radio(t("review_passage", language), list(range(len(candidates))), index=None,
                          key=f"review_passage_{item.key}",
                          format_func=lambda n: f"{n + 1}. {candidates[n]['title']} · {candidates[n]['anchor']}")
        passage = candidates[picked] if picked is not None else None
    elif verdict == "choose":
        titles = {c["source"]: c["title"] for c in reversed(candidates)}  # the first candidate's title wins
        sources = list(dict.fromkeys(c["source"] for c in candidates))
        documents = st.multiselect(t("review_documents", language), sources, key=f"review_docs_{item.key}",
                                   format_func=lambda s: f"{titles[s]} ({s})")
    by = st.text_input(t("review_by", language), value=st.session_state.get(REVIEWER, ""), key="review_by",
                       help=t("review_by_help", language))
    st.session_state[REVIEWER] = by
    if st.button(t("review_save", language), key=f"review_save_{item.key}", type="primary"):
        save_label(settings, item, verdict, by, passage, documents, language)


def save_label(settings, item, verdict: str, by: str, passage, documents, language: str) -> None:
    require_admin(settings)
    try:
        record = get_assistant().label(item, verdict, by, passage=passage, documents=documents)
    except AssistantError as exc:
        st.error(str(exc))
        return
    if record.get("kind") == "unanswerable":
        what = t("review_saved_unanswerable", language)
    elif record.get("kind") == "choose":
        what = t("review_saved_choose", language, n=len(record.get("docs") or ()))
    else:
        what = f"{record.get('doc')} {record.get('anchor')}"
    st.session_state[FLASH] = t("review_saved", language, question=item.question, what=what)
    st.rerun()  # the labelled question leaves the queue


def regression_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("regression_title", language))
    st.caption(t("regression_help", language))
    assistant = get_assistant()
    labels = assistant.labels()
    cols = st.columns([1, 2, 2])
    cols[0].metric(t("regression_labels", language), len(labels))
    cols[1].download_button(t("regression_download", language), assistant.labels_jsonl(), file_name="labels.jsonl",
                            mime="application/jsonl", key="regression_download", disabled=not labels)
    if cols[2].button(t("regression_run", language), key="regression_run", type="primary"):
        run_regression(settings, len(labels), language)
    if labels:
        withdraw_form(settings, labels, language)
    history_of_regressions(settings, language)


def withdraw_form(settings, labels: list[dict], language: str) -> None:
    """A label given by mistake is taken back; its question returns to the queue."""
    require_admin(settings)
    with st.expander(t("regression_withdraw", language)):
        by_id = {x["id"]: x for x in labels}
        picked = st.selectbox(t("regression_withdraw_pick", language), list(by_id), key="withdraw_pick",
                              format_func=lambda i: f"{by_id[i]['question']} → "
                                                    f"{by_id[i].get('doc') or by_id[i]['kind']} {by_id[i].get('anchor') or ''}")
        by = st.text_input(t("review_by", language), value=st.session_state.get(REVIEWER, ""), key="withdraw_by")
        if st.button(t("regression_withdraw_button", language), key="withdraw_button"):
            st.session_state[REVIEWER] = by
            try:
                get_assistant().withdraw_label(picked, by)
            except AssistantError as exc:
                st.error(str(exc))
                return
            st.session_state[FLASH] = t("regression_withdrawn", language, question=by_id[picked]["question"])
            st.rerun()


def figure(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def run_regression(settings, n: int, language: str) -> None:
    require_admin(settings)
    try:
        with st.spinner(t("regression_running", language, n=n)):
            row = get_assistant().run_regression()
    except AssistantError as exc:
        st.error(str(exc))
        return
    st.success(t("regression_done", language, n=row.get("n"), recall=figure(row.get("recall@1")),
                 mrr=figure(row.get("mrr")), precision=figure(row.get("citation_precision")),
                 refusal=figure(row.get("refusal_accuracy"))))


def history_of_regressions(settings, language: str) -> None:
    require_admin(settings)
    rows = get_assistant().regression_history()
    st.markdown(f"**{t('regression_history', language)}**")
    if not rows:
        st.caption(t("regression_none", language))
        return
    # a line with its points: the first evaluation is one point, which a bare line chart does not draw
    spec = {"height": 220, "mark": {"type": "line", "point": True, "tooltip": True},
            "transform": [{"fold": list(REGRESSION_FIGURES), "as": ["figure", "value"]}],
            "encoding": {"x": {"field": "at", "type": "temporal", "title": t("col_at", language),
                               "axis": {"format": "%Y-%m-%d %H:%M", "labelAngle": 0}},
                         "y": {"field": "value", "type": "quantitative", "scale": {"domain": [0, 1]}, "title": None},
                         "color": {"field": "figure", "type": "nominal", "title": None}}}
    st.vega_lite_chart([{"at": r.get("at"), **{k: r.get(k) for k in REGRESSION_FIGURES}} for r in rows], spec,
                       width="stretch")
    st.dataframe([{t("col_at", language): r.get("at"), t("col_labels", language): r.get("n"),
                   **{k: r.get(k) for k in REGRESSION_FIGURES},
                   t("col_generation", language): r.get("generation"), t("col_models", language): r.get("models")}
                  for r in reversed(rows)], hide_index=True, key="regression_table")


def tune_section(settings, language: str) -> None:
    require_admin(settings)
    st.subheader(t("tune_title", language))
    st.caption(t("tune_help", language))
    cols = st.columns(3)
    preview = cols[0].button(t("tune_preview", language), key="tune_preview")
    install = cols[1].button(t("tune_install", language), key="tune_install", type="primary")
    undo = cols[2].button(t("tune_undo", language), key="tune_undo")
    if preview or install:
        run_tune(settings, dry_run=preview, language=language)
    if undo:
        undo_tune(settings, language)
    result = st.session_state.get(TUNED)
    if result:
        render_tune(result, language)
    models_section(settings, language)


def run_tune(settings, dry_run: bool, language: str) -> None:
    require_admin(settings)
    assistant = get_assistant()
    try:
        with st.spinner(t("tune_running", language)):
            st.session_state[TUNED] = assistant.tune(assistant.labels(), dry_run=dry_run, by="admin")
    except AssistantError as exc:
        st.session_state.pop(TUNED, None)
        st.error(str(exc))


def undo_tune(settings, language: str) -> None:
    require_admin(settings)
    try:
        done = get_assistant().undo_tune(by="admin")
    except AssistantError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(TUNED, None)
    packaged = t("tune_packaged", language)
    st.success(t("tune_undone", language, old=done.get("from") or packaged, new=done.get("to") or packaged))


def render_tune(result: dict, language: str) -> None:
    st.caption(t("tune_summary", language, n=result.get("n"), usable=result.get("usable"), folds=result.get("folds")))
    before, after = result.get("before"), result.get("after")
    if before is None and after is None:
        st.caption(t("tune_no_figures", language))
    else:
        st.markdown(f"**{t('tune_figures', language)}**")
        st.dataframe([{t("col_metric", language): k, t("col_before", language): figure((before or {}).get(k)),
                       t("col_after", language): figure((after or {}).get(k))} for k in TUNE_FIGURES],
                     hide_index=True, key="tune_figures")
    if result.get("installed"):
        st.success(t("tune_installed", language, stamp=result.get("stamp", "")))
    else:
        st.info(t("tune_not_installed", language))
    st.markdown(t("tune_reason", language, reason=result.get("reason") or "-"))
    if result.get("set_aside"):
        st.markdown(f"**{t('tune_set_aside', language)}**")
        st.dataframe([{t("col_id", language): p.get("id"), t("col_question", language): p.get("question"),
                       t("col_problem", language): p.get("problem")} for p in result["set_aside"]],
                     hide_index=True, key="tune_set_aside")


def models_section(settings, language: str) -> None:
    require_admin(settings)
    assistant = get_assistant()
    try:
        models = assistant.models.describe()
    except AssistantError as exc:  # a tuned stamp missing from the index folder (ConfigError) says what to do
        st.error(str(exc))
        models = None
    if models:
        st.markdown(f"**{t('tune_models', language)}** · {t('tune_origin', language, origin=models.get('origin'))}")
        st.dataframe([{t("col_model", language): name, t("col_path", language): (models.get(name) or {}).get("path"),
                       t("col_sha256", language): (models.get(name) or {}).get("sha256")}
                      for name in models if name != "origin"], hide_index=True, key="tune_models")
    st.markdown(f"**{t('tune_history', language)}**")
    runs = assistant.tune_history()
    if not runs:
        st.caption(t("tune_history_none", language))
        return
    packaged = t("tune_packaged", language)
    st.dataframe([{t("col_at", language): r.get("at"), t("col_action", language): r.get("action"),
                   t("col_from", language): r.get("from") or packaged, t("col_to", language): r.get("to") or packaged,
                   t("col_by", language): r.get("by"),
                   t("col_sha256", language): ", ".join(f"{k} {v[:16]}" for k, v in (r.get("sha256") or {}).items())}
                  for r in reversed(runs)], hide_index=True, key="tune_history")


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
                        t("admin_feedback", language), t("admin_review", language)])
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
        with tabs[4]:
            review_section(settings, language)
            st.divider()
            regression_section(settings, language)
            st.divider()
            tune_section(settings, language)
    except NotAdmin:
        st.error(t("admin_required", language))


main()
