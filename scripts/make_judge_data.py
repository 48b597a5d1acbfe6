"""Make (question, passage, label) examples for the judge from statutes' structure (assistant/answering/judge_data.py).

    python scripts/make_judge_data.py ../shared/train/statutes/docs --out judge.jsonl [--limit 200] [--seed 0]
    python scripts/make_judge_data.py ../shared/train/statutes/docs --limit 50 --sample 20     # read some

The training corpus is disjoint by family from every evaluation set; never point this at ../shared/eval.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answering.judge_data import JudgeData  # noqa: E402
from assistant.index.keyword import KoreanTokenizer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("docs", type=Path, help="a folder of statutes (Markdown/text)")
    parser.add_argument("--out", type=Path, help="JSONL of examples")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (sorted by name)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-document", type=int, default=20, help="questions made from one document at most")
    parser.add_argument("--sample", type=int, default=0, help="print this many examples and stop")
    args = parser.parse_args()

    data = JudgeData.from_folder(args.docs, KoreanTokenizer(), args.limit)
    examples = data.examples(args.seed, args.per_document)
    if args.sample:
        for e in itertools.islice(examples, args.sample):
            print(f"[{e.label}] {e.role:10s} {e.kind:10s} Q: {e.question}")
            print(f"    {e.source} {e.anchor}: {e.passage[:160].replace(chr(10), ' / ')}")
        return 0
    n = positives = 0
    with (args.out.open("w", encoding="utf-8") if args.out else sys.stdout) as out:
        for e in examples:
            out.write(json.dumps(e.to_json(), ensure_ascii=False) + "\n")
            n += 1
            positives += e.label
    print(f"{n} examples, {positives} positive, from {len(data.rows_by_source)} documents", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
