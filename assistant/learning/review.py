"""The review queue: staff feedback (👍/👎), refusals and a sample of answered questions become labelled questions.

Sources: every 👎 in `feedback.jsonl`, every refused answer in the audit log and a fixed share of the answered ones
(`review_sample`; chosen by the entry's hash, so the sample does not change between visits). A question already
labelled leaves the queue. Questions are shown as they were stored: masked (feedback and audit both mask personal
data before writing). An admin's judgement is saved as one line of the QA format (DESIGN.md) in `labels.jsonl`:
the passage that answers (doc and anchor), "not in the documents" (kind unanswerable) or "one of several
documents" (kind choose, with the documents); who labelled and when travel with it, and each label is audited.
`assistant eval labels.jsonl` runs them as the organisation's own regression set and `assistant tune` learns
from them."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.links import article_of

from ..errors import BadQuestion
from ..governance.privacy import mask_pii

VERDICTS = ("passage", "unanswerable", "choose")


def data_dir(settings) -> Path:
    """Where staff feedback and labels live: `feedback_dir`, else beside the index folder."""
    return Path(settings.feedback_dir) if settings.feedback_dir else \
        Path(settings.index_dir).resolve().parent / "feedback"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a file, a damaged line skipped (a crash mid-write leaves half a line, not a lost file)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def normalised(question: str) -> str:
    """A question as it is compared: runs of white space as one space, none at the ends."""
    return re.sub(r"\s+", " ", question or "").strip()


def key_of(question: str) -> str:
    return hashlib.sha256(normalised(question).encode()).hexdigest()[:16]


def reviewer(by: str, what: str) -> str:
    """The reviewer's name as typed (masked), required: every label and withdrawal says who."""
    by = (by or "").strip()
    if not by:
        raise BadQuestion(f"{what} 사람(검토자)을 적어 주세요.")
    return mask_pii(by)


def save_feedback(settings, rating: str, comment: str, question: str, answer: str, cited: list[dict],
                  refused: bool, support: float | None = None, model: str | None = None, by: str = "staff") -> dict:
    """One masked line of feedback on an answer (its text, the (source, anchor) it cited, whether it refused);
    returns the record written."""
    if rating not in ("up", "down"):
        raise BadQuestion(f"평가는 up 또는 down이어야 합니다: {rating!r}")
    record = {"at": now(), "rating": rating, "by": by,
              "comment": mask_pii(comment.strip()) if comment and comment.strip() else "",
              "question": mask_pii(question), "answer": mask_pii(answer or ""),
              "citations": [c.get("label") or f"{c.get('source')} {c.get('anchor')}" for c in cited],
              "cited": [{"source": c.get("source"), "anchor": c.get("anchor")} for c in cited],
              "refused": bool(refused), "support": None if support is None else round(float(support), 3),
              "model": model}
    append_jsonl(data_dir(settings) / "feedback.jsonl", record)
    return record


def read_feedback(settings) -> list[dict]:
    return read_jsonl(data_dir(settings) / "feedback.jsonl")


@dataclass(frozen=True)
class ReviewItem:
    """A question waiting for an admin's judgement, with what the assistant answered."""

    key: str
    question: str
    answer: str
    origin: str  # "down" (👎), "refusal", "sample"
    at: str
    cited: tuple[str, ...] = ()


def in_sample(entry_hash: str, share: float) -> bool:
    return share > 0 and int(entry_hash[:8], 16) / 0xFFFFFFFF < share


def queue(settings, labelled: set[str], sample: float) -> list[ReviewItem]:
    """👎 first, then refusals, then the sample; newest first within each; one item per question."""
    from ..governance.audit import audit_path, export

    found: dict[str, ReviewItem] = {}
    for record in reversed(read_feedback(settings)):
        if record.get("rating") == "down":
            add(found, labelled, ReviewItem(key_of(record["question"]), record["question"], record.get("answer", ""),
                                            "down", record.get("at", ""), tuple(record.get("citations", ()))))
    path = audit_path(settings)
    entries = [e for e in (export(path) if path.is_file() else [])
               if e.get("question") and not e.get("event") and e.get("mode") in ("staff", "kiosk")]
    for origin in ("refusal", "sample"):
        for e in reversed(entries):
            wanted = e.get("refused") if origin == "refusal" else \
                not e.get("refused") and in_sample(e.get("hash", "0"), sample)
            if wanted:
                cited = tuple(f"{c.get('source')} {c.get('anchor')}" for c in e.get("citations", ()))
                add(found, labelled, ReviewItem(key_of(e["question"]), e["question"], e.get("answer", ""), origin,
                                                e.get("time", ""), cited))
    return list(found.values())


def add(found: dict, labelled: set[str], item: ReviewItem) -> None:
    if item.key not in labelled and item.key not in found:
        found[item.key] = item


def labels_path(settings) -> Path:
    return data_dir(settings) / "labels.jsonl"


def read_labels(settings) -> list[dict]:
    """The labelled questions, the latest judgement of each question only."""
    latest: dict[str, dict] = {}
    for record in read_jsonl(labels_path(settings)):
        latest[record.get("id", "")] = record
    return [r for r in latest.values() if r.get("verdict") != "withdrawn"]


def withdraw(settings, label_id: str, by: str) -> dict:
    """A withdrawal line: `read_labels` drops the label, so its question is back in the queue."""
    by = reviewer(by, "라벨을 거두는")
    if label_id not in {x["id"] for x in read_labels(settings)}:
        raise BadQuestion(f"그런 라벨이 없습니다: {label_id}")
    record = {"id": label_id, "verdict": "withdrawn", "withdrawn_by": by, "withdrawn_at": now()}
    append_jsonl(labels_path(settings), record)
    return record


def make_label(item: ReviewItem, verdict: str, by: str, passage: dict | None = None,
               documents: list[str] = ()) -> dict:
    """A QA-format line (DESIGN.md) from an admin's verdict on a queue item."""
    if verdict not in VERDICTS:
        raise BadQuestion(f"알 수 없는 판정입니다: {verdict!r}")
    by = reviewer(by, "라벨을 붙인")
    base = {"id": f"org-{item.key}", "question": item.question, "labelled_by": by, "labelled_at": now(),
            "origin": item.origin}
    if verdict == "passage":
        if not passage:
            raise BadQuestion("답이 되는 구절을 골라 주세요.")
        # the article, not the chunk ("제5조", not "제5조 제1항~제2항": the next ingest may cut it elsewhere)
        return {**base, "answer": passage.get("text", "")[:300], "doc": passage["source"],
                "anchor": article_of(passage["anchor"]), "kind": "fact"}
    if verdict == "choose":
        docs = list(dict.fromkeys(documents))
        if len(docs) < 2:
            raise BadQuestion("'여러 문서 중 하나'에는 문서를 둘 이상 골라 주세요.")
        return {**base, "answer": "", "doc": None, "anchor": None, "kind": "choose", "docs": docs}
    return {**base, "answer": "", "doc": None, "anchor": None, "kind": "unanswerable"}


def labels_jsonl(settings) -> str:
    return as_jsonl(read_labels(settings))


def as_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in records)


def regression_path(settings) -> Path:
    return Path(settings.index_dir) / "eval" / "regression.jsonl"


REGRESSION_FIGURES = ("n", "recall@1", "recall@5", "mrr", "citation_precision", "refusal_accuracy", "outcome_accuracy")


def run_regression(assistant) -> dict:
    """The organisation's regression set: `assistant eval` over the labels on the generation answers come from;
    one row per run (when, which generation, which models, which label set) appended to INDEX/eval/regression.jsonl."""
    from ..evaluation.evaluate import run_eval

    labels = read_labels(assistant.settings)
    if not labels:
        raise BadQuestion("라벨이 아직 없습니다. 검토 대기열에서 먼저 라벨을 붙여 주세요.")
    text = as_jsonl(labels)  # its checksum tells which label set a row measured
    result = run_eval(assistant, labels)
    row = {"at": now(), "generation": assistant.index.generation, "models": assistant.models.origin,
           "labels_sha256": hashlib.sha256(text.encode()).hexdigest()[:16],  # which set: points compare alike
           **{k: result.get(k) for k in REGRESSION_FIGURES}}
    append_jsonl(regression_path(assistant.settings), row)
    return row
