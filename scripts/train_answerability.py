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
import gzip
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answering.answerability import FEATURES, PACKAGED_MODEL, AnswerabilityModel, train  # noqa: E402
from assistant.evaluation.evaluate import load_qa  # noqa: E402
from assistant.facade import Assistant  # noqa: E402
from assistant.learning.collect import answerability_rows  # noqa: E402
from assistant.learning.crossval import folds_of  # noqa: E402
from assistant.learning.models import SHIPPED_ANSWERABILITY  # noqa: E402
from assistant.settings import Settings  # noqa: E402


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
    parser.add_argument("--features", type=Path, default=SHIPPED_ANSWERABILITY,
                        help="the collected rows (read if present; `assistant tune` fits on them beside its labels)")
    parser.add_argument("--recollect", action="store_true", help="read the rows again even if --features exists")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-answerable-refused", type=float, default=0.03)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.features.exists() and not args.recollect:
        rows = json.loads(gzip.decompress(args.features.read_bytes()))
    else:
        assistant = Assistant(Settings.load(index_dir=args.index, audit_enabled=False))
        assistant.__dict__["answerability"] = AnswerabilityModel.neutral()  # answer everything while collecting
        rows = answerability_rows(assistant, load_qa(args.qa), quiet=False)
        args.features.write_bytes(gzip.compress(json.dumps(rows, ensure_ascii=False).encode(), mtime=0))

    fold_of = folds_of([r["group"] for r in rows], args.folds, args.seed)
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
    report = {"trained_on": str(args.qa), "rows": len(rows), "groups": len(fold_of),
              "max_answerable_refused": args.max_answerable_refused, "l2": args.l2,
              "cross_validated": cross_validated, "in_sample": figures(model, rows)}
    model = AnswerabilityModel(model.mean, model.scale, model.coef, model.intercept, report)
    args.out.write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"coef": dict(zip(FEATURES, (round(c, 3) for c in model.coef))), **report}, ensure_ascii=False,
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
