"""Measure a judge on real questions before wiring it in (#25): how it orders the hybrid's top 10 on its own and
fused with the hybrid score at several weights, and how well its score on the top hit separates answerable from
unanswerable questions, next to the top hit's cosine (what the answerability model already has).

    python scripts/measure_judge.py runs/judge/judge.safetensors --index IX --qa ../shared/eval/public/qa.jsonl
    python scripts/measure_judge.py runs/judge/checkpoint.pt --index IX --qa …      # a checkpoint mid-training

The qa set chooses between judges and operating points; it is never training data. `assistant eval` with
`ASSISTANT_RERANKER_MODEL=…` gives the same ordering figures through the product itself.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from assistant.answering.retrieve import standardised  # noqa: E402
from assistant.evaluation.evaluate import load_qa  # noqa: E402
from assistant.evaluation.hits import is_hit  # noqa: E402
from assistant.facade import Assistant  # noqa: E402
from assistant.index import judge as judge_model  # noqa: E402
from assistant.settings import Settings  # noqa: E402

DEPTH = 10
WEIGHTS = (0.05, 0.1, 0.2, 0.5, 1.0)


def load(path: Path, max_length: int):
    if path.suffix == ".pt":  # a training checkpoint: the trained tensors, the layer count read from them
        state = torch.load(path, map_location="cpu", weights_only=False)["model"]
        model = judge_model.fresh(sum(k.endswith("attention.self.query.weight") for k in state), max_length)
        model.load_state_dict(state, strict=False)
    else:
        meta = judge_model.delta_meta(path)
        model = judge_model.fresh(meta["layers"], meta["max_length"])
        judge_model.load_delta(model, path)
    return model.eval()


def auc(positive: list[float], negative: list[float]) -> float | None:
    if not positive or not negative:
        return None  # a QA set without unanswerable questions separates nothing
    return round(float(roc_auc_score([1] * len(positive) + [0] * len(negative), positive + negative)), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("judge", type=Path, help="a delta (.safetensors) or a training checkpoint (.pt)")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--max-length", type=int, default=224, help="for a checkpoint (a delta records its own)")
    parser.add_argument("--out", type=Path, help="JSON of the figures")
    args = parser.parse_args()

    bot = Assistant(Settings.load(index_dir=args.index, audit_enabled=False, reranker_model=""))
    model = load(args.judge, args.max_length)
    rows = []
    with torch.no_grad():
        for item in load_qa(args.qa):
            hits = bot.retrieve(item["question"], DEPTH)
            scores = model.predict([(item["question"], h.chunk.embed_text) for h in hits],
                                   activation_fn=torch.nn.Identity(), show_progress_bar=False)
            rows.append({"answerable": bool(item.get("doc")), "fused": [h.score for h in hits],
                         "cosine": hits[0].dense if hits else 0.0, "judge": [float(s) for s in scores],
                         "hit": [is_hit(h.chunk.source, h.chunk.anchor, item.get("doc"), item.get("anchor"))
                                 for h in hits]})
    answerable = [r for r in rows if r["answerable"]]

    def recall_at_1(weight: float | None) -> float:
        right = 0
        for r in (r for r in answerable if r["hit"]):
            together = (np.asarray(r["judge"]) if weight is None
                        else standardised(r["fused"]) + weight * standardised(r["judge"]))
            right += r["hit"][int(np.argmax(together))]
        return round(right / max(len(answerable), 1), 4)

    negatives = [r for r in rows if not r["answerable"]]
    result = {
        "judge": str(args.judge), "questions": len(rows), "answerable": len(answerable),
        "recall@1": {"hybrid": recall_at_1(0.0), "judge_alone": recall_at_1(None),
                     **{f"fused_{w}": recall_at_1(w) for w in WEIGHTS}},
        "answerability_auc": {
            "judge_top1": auc([r["judge"][0] for r in answerable if r["judge"]],
                              [r["judge"][0] for r in negatives if r["judge"]]),
            "cosine_top1": auc([r["cosine"] for r in answerable], [r["cosine"] for r in negatives])},
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
