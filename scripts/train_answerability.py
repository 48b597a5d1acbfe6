"""Train the answerability model (assistant/answering/answerability.json) from a QA set by leaving documents out.

Every answerable question gives two examples: asked of the whole index (positive, when the quoted chunk is from
the right document) and asked with its document's whole family (law, 시행령, 시행규칙) hidden from retrieval
(negative: nothing visible answers it any more). Unanswerable questions are negatives. Figures are reported by
cross-validation over document families, so every reported figure is on documents the model was not trained on.

    assistant ingest ../shared/eval/public/docs --index IX
    python scripts/train_answerability.py --index IX --qa ../shared/eval/public/qa.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answering.answerability import FEATURES, PACKAGED_MODEL, AnswerabilityModel, train  # noqa: E402
from assistant.evaluation.evaluate import family_of_file, is_hit, load_qa  # noqa: E402
from assistant.facade import Assistant  # noqa: E402
from assistant.answering.retrieve import Filters  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def collect(assistant: Assistant, items: list[dict]) -> list[dict]:
    sources = [d["source"] for d in assistant.index.documents]
    rows = []
    for n, item in enumerate(items, 1):
        question = item["question"]
        if item.get("doc"):
            answer = assistant.ask(question)
            top = answer.citations[0] if answer.citations else None
            label = 1 if top and is_hit(top.source, top.anchor, item["doc"], None) else -1  # -1: not fitted on
            rows.append({"id": item["id"], "group": family_of_file(item["doc"]), "answerable": True, "label": label,
                         "features": answer.features})
            hidden = tuple(s for s in sources if family_of_file(s) == family_of_file(item["doc"]))
            answer = assistant.ask(question, filters=Filters(exclude_sources=hidden))
            rows.append({"id": item["id"] + "/held-out", "group": family_of_file(item["doc"]), "answerable": False,
                         "label": 0, "features": answer.features})
        else:
            answer = assistant.ask(question)
            rows.append({"id": item["id"], "group": item["id"], "answerable": False, "label": 0,
                         "features": answer.features})
        print(f"\r{n}/{len(items)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return [r for r in rows if r["features"]]  # no quotable line at all: refused whatever the model says


def arrays(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([r["features"] for r in rows], dtype=float), np.array([r["label"] for r in rows], dtype=float),
            np.array([r["answerable"] for r in rows]))


def figures(model: AnswerabilityModel, rows: list[dict]) -> dict:
    answered = [model.probability(tuple(r["features"])) >= 0.5 for r in rows]
    pos = [a for a, r in zip(answered, rows) if r["answerable"]]
    held = [a for a, r in zip(answered, rows) if r["id"].endswith("/held-out")]
    unans = [a for a, r in zip(answered, rows) if not r["answerable"] and not r["id"].endswith("/held-out")]
    rate = lambda xs: round(1 - sum(xs) / len(xs), 4) if xs else None  # noqa: E731
    return {"answerable_refused": rate(pos), "held_out_refused": rate(held), "unanswerable_refused": rate(unans),
            "n_answerable": len(pos), "n_held_out": len(held), "n_unanswerable": len(unans)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=PACKAGED_MODEL)
    parser.add_argument("--features", type=Path, help="cache of the collected features (read if present)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-answerable-refused", type=float, default=0.03)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.features and args.features.exists():
        rows = json.loads(args.features.read_text(encoding="utf-8"))
    else:
        assistant = Assistant(Settings.load(index_dir=args.index, audit_enabled=False))
        assistant.__dict__["answerability"] = AnswerabilityModel.neutral()  # answer everything while collecting
        rows = collect(assistant, load_qa(args.qa))
        if args.features:
            args.features.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")

    groups = sorted({r["group"] for r in rows})
    random.Random(args.seed).shuffle(groups)
    fold_of = {g: i % args.folds for i, g in enumerate(groups)}
    out_of_fold: list[dict] = []
    per_fold = []
    for fold in range(args.folds):
        train_rows = [r for r in rows if fold_of[r["group"]] != fold]
        test_rows = [r for r in rows if fold_of[r["group"]] == fold]
        model = train(*arrays(train_rows), args.max_answerable_refused, args.l2)
        per_fold.append(figures(model, test_rows))
        out_of_fold += [dict(r, answered=model.probability(tuple(r["features"])) >= 0.5) for r in test_rows]
    pos = [r for r in out_of_fold if r["answerable"]]
    held = [r for r in out_of_fold if r["id"].endswith("/held-out")]
    unans = [r for r in out_of_fold if not r["answerable"] and not r["id"].endswith("/held-out")]
    refused = lambda xs: round(sum(not r["answered"] for r in xs) / len(xs), 4)  # noqa: E731
    cross_validated = {"folds": args.folds, "answerable_refused": refused(pos), "held_out_refused": refused(held),
                       "unanswerable_refused": refused(unans),
                       "wrong_document_answered": sum(r["answered"] for r in pos if r["label"] == -1),
                       "wrong_document": sum(r["label"] == -1 for r in pos), "per_fold": per_fold}
    model = train(*arrays(rows), args.max_answerable_refused, args.l2)
    report = {"trained_on": str(args.qa), "rows": len(rows), "groups": len(groups),
              "max_answerable_refused": args.max_answerable_refused, "l2": args.l2,
              "cross_validated": cross_validated, "in_sample": figures(model, rows)}
    model = AnswerabilityModel(model.mean, model.scale, model.coef, model.intercept, report)
    args.out.write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"coef": dict(zip(FEATURES, (round(c, 3) for c in model.coef))), **report}, ensure_ascii=False,
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
