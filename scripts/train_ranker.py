"""Train the packaged learned ranker (assistant/answering/ranker.json) from a QA set, cross-validated by statute
family, and keep its training rows (assistant/learning/shipped_ranking.json.gz) for `assistant tune`.

    assistant ingest ../shared/eval/public/docs --index IX
    python scripts/train_ranker.py --index IX --qa ../shared/eval/public/qa.jsonl
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answering.ranker import FEATURES, PACKAGED_RANKER, RankerModel  # noqa: E402
from assistant.evaluation.evaluate import load_qa  # noqa: E402
from assistant.facade import Assistant  # noqa: E402
from assistant.learning.collect import ranking_rows  # noqa: E402
from assistant.learning.crossval import (by_model, cross_validated_ranker, fit_rows, hand_set,  # noqa: E402
                                         ranking_figures)
from assistant.learning.models import SHIPPED_RANKING  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=PACKAGED_RANKER)
    parser.add_argument("--rows", type=Path, default=SHIPPED_RANKING, help="training rows (read if present)")
    parser.add_argument("--recollect", action="store_true", help="read the rows again even if --rows exists")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.rows.exists() and not args.recollect:
        rows = json.loads(gzip.decompress(args.rows.read_bytes()))
    else:
        assistant = Assistant(Settings.load(index_dir=args.index, audit_enabled=False, ranker_model="off"))
        # the packaged ranker has no labelled questions to remember: its rows keep zeros in the memory columns
        rows = [{k: v for k, v in r.items() if k not in ("keys", "vector")}
                for r in ranking_rows(assistant, load_qa(args.qa), quiet=False)]
        args.rows.write_bytes(gzip.compress(json.dumps(rows, ensure_ascii=False).encode(), mtime=0))
    cross_validated = cross_validated_ranker(rows, args.folds, args.seed)
    chosen = cross_validated["l2"]
    cross_validated["l2"] = str(chosen)  # "inf": no fit beat the hand-set order out of fold
    report = {"trained_on": str(args.qa), "questions": len(rows), "groups": len({r["group"] for r in rows}),
              "l2": str(chosen), "cross_validated_by_family": cross_validated}
    model = fit_rows(rows, chosen)
    report["in_sample"] = {"learned": ranking_figures(rows, by_model(model)),
                           "hand_set": ranking_figures(rows, hand_set)}
    model = RankerModel(model.mean, model.scale, model.coef, model.temperature, report)
    args.out.write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"coef": dict(zip(FEATURES, (round(c, 3) for c in model.coef))), **report},
                     ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
