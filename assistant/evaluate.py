"""`assistant eval`: recall@k, MRR, citation precision and refusal accuracy on a Korean QA set (DESIGN.md)."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from .retrieve import MODES

ARTICLE = re.compile(r"^(제\d+조(?:의\d+)?)")
MRR_DEPTH = 10


def is_hit(source: str, chunk_anchor: str, doc: str | None, anchor: str | None) -> bool:
    """DESIGN.md's rule: same document, and the chunk lies in the expected article (or the same welfare service)."""
    if not doc or not source.endswith(doc):
        return False
    if not anchor:
        return True
    m = ARTICLE.match(anchor)
    if m:
        found = ARTICLE.match(chunk_anchor)
        return bool(found) and found.group(1) == m.group(1)
    service = anchor.split(" > ")[0].strip()
    return service in [part.strip() for part in chunk_anchor.split(" > ")]


def load_qa(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def first_hit_rank(hits, item) -> int | None:
    for rank, hit in enumerate(hits, 1):
        if is_hit(hit.chunk.source, hit.chunk.anchor, item["doc"], item["anchor"]):
            return rank
    return None


def summarise(ranks: list[int | None], k: int) -> dict:
    n = len(ranks)
    if not n:
        return {"n": 0, "recall@1": 0.0, f"recall@{k}": 0.0, "mrr": 0.0}
    return {"n": n, "recall@1": round(sum(1 for r in ranks if r == 1) / n, 4),
            f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4)}


def run_eval(assistant, qa_path: Path, k: int = 5, generate: bool = True, out: Path | None = None) -> dict:
    assistant = assistant.clone(audit_enabled=False)  # evaluation questions are not citizens' questions
    items = load_qa(qa_path)
    answerable = [x for x in items if x.get("doc")]
    ranks: dict[str, list] = {m: [] for m in MODES}
    latencies: dict[str, list[float]] = {m: [] for m in MODES}
    per_question = []
    for item in answerable:
        row = {"id": item["id"], "kind": item["kind"]}
        for mode in MODES:
            started = time.perf_counter()
            hits = assistant.retrieve(item["question"], max(k, MRR_DEPTH), mode)
            latencies[mode].append((time.perf_counter() - started) * 1000)
            rank = first_hit_rank(hits, item)
            rank = rank if rank and rank <= MRR_DEPTH else None
            ranks[mode].append(rank)
            row[mode] = rank
        per_question.append(row)
    result: dict = {"n": len(items), "k": k, "mrr_depth": MRR_DEPTH}
    result.update({key: value for key, value in summarise(ranks["hybrid"], k).items() if key != "n"})
    result["recall@5"] = round(sum(1 for r in ranks["hybrid"] if r and r <= 5) / max(len(answerable), 1), 4)
    result["by_retriever"] = {m: summarise(ranks[m], k) for m in MODES}
    result["retrieve_ms"] = {m: percentiles(latencies[m]) for m in MODES}
    kinds = sorted({x["kind"] for x in answerable})
    result["per_kind"] = {kind: {m: summarise([r for r, x in zip(ranks[m], answerable) if x["kind"] == kind], k)
                                 for m in MODES} for kind in kinds}
    if generate:
        result.update(answer_quality(assistant, items))
    else:
        result["citation_precision"] = None
        result["refusal_accuracy"] = None
    result["per_question"] = per_question
    save(result, assistant.settings.index_dir / "eval" / "latest.json")
    if out:
        save(result, Path(out))
    return result


def answer_quality(assistant, items: list[dict]) -> dict:
    correct_refusals = 0
    cited = good = 0
    wrong_articles = 0
    samples = []
    for item in items:
        answer = assistant.ask(item["question"])
        expected_refusal = not item.get("doc")
        correct_refusals += answer.refused == expected_refusal
        chunks = {(h.chunk.source, h.chunk.text) for h in answer.hits}
        for c in answer.citations:
            cited += 1
            in_chunk = any(src == c.source and c.quote in text for src, text in chunks)
            good += in_chunk and is_hit(c.source, c.anchor, item.get("doc"), item.get("anchor"))
            wrong_articles += not in_chunk
        if len(samples) < 6:
            samples.append({"question": item["question"], "answer": answer.answer, "refused": answer.refused})
    return {"citation_precision": round(good / cited, 4) if cited else 0.0,
            "refusal_accuracy": round(correct_refusals / len(items), 4) if items else 0.0,
            "unverifiable_citations": wrong_articles, "samples": samples}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95)}


def save(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    chart(result, path.with_suffix(".png"))


def chart(result: dict, path: Path) -> None:
    """Per-kind recall@k bars for each retriever: people look at charts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(result["per_kind"])
    k = result["k"]
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(kinds) + 2), 4))
    width = 0.8 / len(MODES)
    for i, mode in enumerate(MODES):
        values = [result["per_kind"][kind][mode][f"recall@{k}"] for kind in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=mode)
    ax.set_xticks([x + width for x in range(len(kinds))], kinds)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"recall@{k}")
    ax.set_title(f"recall@{k} by question kind (hybrid {result[f'recall@{k}']:.2f}, MRR {result['mrr']:.2f})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
