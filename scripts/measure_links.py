"""Precision and recall of statute link extraction (ingest/links.py) against hand-checked 항.

    python scripts/measure_links.py ../shared/eval/public/docs eval/links-gold.jsonl [--out docs/links-measured.json]

Each gold line is one 항 with the complete set of its links to indexed documents, at article level
(`{"doc", "anchor", "links": [{"relation", "doc", "anchor"}]}`); the extracted links of the same 항 are compared with
it, with and without the relation. `cited_by` is not annotated (it is the reverse of `cites`), so it is not compared."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ingest import load_documents
from ingest.links import article_of, extract_links, statute_articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", type=Path)
    parser.add_argument("gold", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    batch = load_documents([args.docs], 700, 50 * 2**20)
    chunks = [c for d in batch.documents for c in d.chunks]
    started = time.perf_counter()
    links = extract_links(chunks)
    seconds = time.perf_counter() - started
    gold = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    name = lambda source: Path(source).name  # noqa: E731
    found: dict[tuple[str, str], set] = {}
    for x in links:
        if x.relation != "cited_by":
            found.setdefault((name(x.source), x.anchor), set()).add((x.relation, name(x.target), article_of(x.target_anchor)))
    tp = fp = fn = tp_any = 0
    misses, extras = [], []
    for item in gold:
        want = {(x["relation"], x["doc"], x["anchor"]) for x in item["links"]}
        got = found.get((item["doc"], item["anchor"]), set())
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
        tp_any += len({w[1:] for w in want} & {g[1:] for g in got})
        misses += [f"{item['doc']} {item['anchor']} -> {w}" for w in sorted(want - got)]
        extras += [f"{item['doc']} {item['anchor']} -> {g}" for g in sorted(got - want)]
    n_gold, n_found = tp + fn, tp + fp
    articles = statute_articles(chunks)
    result = {"paragraphs": len(gold), "gold_links": n_gold, "extracted_links": n_found,
              "precision": round(tp / n_found, 4) if n_found else None, "recall": round(tp / n_gold, 4) if n_gold else None,
              "precision_any_relation": round(tp_any / n_found, 4) if n_found else None,
              "recall_any_relation": round(tp_any / n_gold, 4) if n_gold else None,
              "extraction_seconds": round(seconds, 3), "statute_articles": articles,
              "ms_per_1000_articles": round(seconds * 1000 / max(articles, 1) * 1000, 1),
              "missed": misses, "extra": extras}
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
