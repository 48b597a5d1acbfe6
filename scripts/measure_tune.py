"""Measure `assistant tune` the way an organisation meets it: half of a labelled set goes to tune, the other half
(held back) is evaluated before and after; then the same with the tuning half's answers shuffled among its
questions and with a share of them poisoned (pointed at another article of the same document) — those must not
make the held-back half worse.

    python scripts/measure_tune.py --index IX --qa eval/hierarchy-public.jsonl --out docs/tune-hierarchy.json

Every run works on a copy of the index folder (tune installs into it). A QA set the shipped training rows were
read from (the public set) is measured with those questions dropped from the shipped rows (--drop-shipped), so
the held-back half is not in any fit."""
from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.evaluation.evaluate import load_qa, run_eval  # noqa: E402
from assistant.facade import Assistant  # noqa: E402
from assistant.index.store import live_generation  # noqa: E402
from assistant.learning import tune as tuning  # noqa: E402
from assistant.settings import Settings  # noqa: E402

KEYS = ("recall@1", "recall@5", "mrr", "citation_precision", "refusal_accuracy", "answerable_refused")


def halves(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """A fixed split by the id's checksum: the same halves on every machine."""
    return ([x for x in items if zlib.crc32(x["id"].encode()) % 2 == 0],
            [x for x in items if zlib.crc32(x["id"].encode()) % 2 == 1])


def shuffled(items: list[dict], seed: int) -> list[dict]:
    """Each answerable question given another one's answer (no question keeps its own)."""
    answerable = [x for x in items if x.get("doc")]
    answers = [(x["doc"], x.get("anchor")) for x in answerable]
    rng = random.Random(seed)
    for _ in range(1000):
        rng.shuffle(answers)
        if all(a != (x["doc"], x.get("anchor")) for a, x in zip(answers, answerable)):
            break
    moved = {x["id"]: dict(x, doc=d, anchor=a) for x, (d, a) in zip(answerable, answers)}
    return [moved.get(x["id"], x) for x in items]


def poisoned(items: list[dict], share: float, index, seed: int) -> list[dict]:
    """`share` of the answerable labels pointed at another article of the same document: plausible, and wrong."""
    rng = random.Random(seed)
    articles: dict[str, list[str]] = {}
    for c in index.chunks:
        articles.setdefault(c.source, [])
        if c.anchor.startswith("제") and c.anchor.split(" ")[0] not in articles[c.source]:
            articles[c.source].append(c.anchor.split(" ")[0])
    out = []
    for x in items:
        if x.get("doc") and rng.random() < share:
            source = next((s for s in articles if s.endswith(x["doc"])), None)
            others = [a for a in articles.get(source, []) if a != (x.get("anchor") or "").split(" ")[0]]
            if others:
                x = dict(x, anchor=rng.choice(others))
        out.append(x)
    return out


def figures(bot: Assistant, items: list[dict]) -> dict:
    result = run_eval(bot, items)
    return {k: result.get(k) for k in KEYS + ("chain_accuracy",) if result.get(k) is not None}


def run(index: Path, tune_on: list[dict], held_back: list[dict], name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "index"
        copy.mkdir()
        gen = live_generation(index)
        shutil.copy2(index / "CURRENT", copy / "CURRENT")
        shutil.copytree(gen, copy / gen.name)
        bot = Assistant(Settings.load(index_dir=copy, audit_enabled=False))
        before = figures(bot, held_back)
        result = bot.tune(tune_on, by="measure_tune")
        after = figures(bot, held_back) if result["installed"] else before
    out = {"labels": name, "tuned_on": len(tune_on), "held_back": len(held_back), "installed": result["installed"],
           "reason": result["reason"], "set_aside": len(result["set_aside"]),
           "folds": {"before": result.get("before"), "after": result.get("after")},
           "held_back_before": before, "held_back_after": after,
           "delta": {k: round(after[k] - before[k], 4) for k in before if k in after}}
    print(json.dumps(out, ensure_ascii=False), file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--drop-shipped", action="store_true",
                        help="leave this set's questions out of the shipped training rows (for the public set)")
    parser.add_argument("--poison", type=float, default=0.3, help="share of poisoned labels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    items = load_qa(args.qa)
    if args.drop_shipped:
        ids = {x["id"] for x in items}
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("SHIPPED_RANKING", "SHIPPED_ANSWERABILITY"):
                rows = json.loads(gzip.decompress(getattr(tuning, name).read_bytes()))
                kept = [r for r in rows if r["id"].removesuffix("/held-out") not in ids]
                path = Path(tmp) / f"{name}.json.gz"
                path.write_bytes(gzip.compress(json.dumps(kept).encode()))
                setattr(tuning, name, path)
            return measure(args, items)
    return measure(args, items)


def measure(args, items: list[dict]) -> int:
    tune_on, held_back = halves(items)
    index = Assistant(Settings.load(index_dir=args.index, audit_enabled=False)).index
    runs = [run(args.index, tune_on, held_back, "honest"),
            run(args.index, shuffled(tune_on, args.seed), held_back, "shuffled"),
            run(args.index, poisoned(tune_on, args.poison, index, args.seed), held_back, f"poisoned {args.poison}")]
    report = {"qa": str(args.qa), "index": str(args.index), "drop_shipped": args.drop_shipped, "runs": runs}
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
