"""`assistant eval`: recall@k, MRR, citation precision and refusal accuracy on a Korean QA set (DESIGN.md)."""
from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

from ..answering.retrieve import MODES, Filters
from ..errors import BadQuestion, ConfigError
from .hits import is_hit

MRR_DEPTH = 10


WITHOUT_RERANKER = "hybrid_without_reranker"


def outcome_expected(item: dict) -> str:
    """What a QA item expects: "choose" (kind choose: several documents answer), "answer" or "refuse"."""
    if item.get("kind") == "choose":
        return "choose"
    return "answer" if item.get("doc") else "refuse"


def outcome_right(answer, item: dict) -> bool:
    """The expected outcome; for "choose", every document of the item among the candidates."""
    expected = outcome_expected(item)
    if answer.outcome != expected:
        return False
    if expected == "choose":
        sources = [c.source for c in answer.candidates]
        return all(any(s.endswith(doc) for s in sources) for doc in item.get("docs", []))
    return True


def load_qa(path: Path) -> list[dict]:
    """The questions of a QA-format JSONL file (an evaluation set, the organisation's labels); a line that is not
    a JSON object is an error naming its number."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"질문 파일을 읽을 수 없습니다: {path} ({exc})") from exc
    items = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"질문 파일 {path}의 {n}번째 줄이 JSON이 아닙니다: {exc}") from exc
        if not isinstance(item, dict):
            raise ConfigError(f"질문 파일 {path}의 {n}번째 줄이 객체가 아닙니다.")
        items.append(item)
    return items


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


def hold_out(assistant, items: list[dict], n_docs: int, seed: int) -> tuple[list[dict], Filters, dict]:
    """Leave documents out: hide `n_docs` whole documents that have questions (a retrieval filter, no re-ingest) and
    turn their questions into unanswerable ones. Every answerable question becomes a test of the refusal, and it is
    the real case: a question about a law the organisation has not ingested."""
    sources = sorted({d["source"] for d in assistant.index.documents})
    with_questions = sorted({s for s in sources for x in items if x.get("doc") and s.endswith(x["doc"])})
    if n_docs > len(with_questions):
        raise BadQuestion(f"숨길 문서 수({n_docs})가 질문이 있는 문서 수({len(with_questions)})보다 많습니다.")
    hidden = sorted(random.Random(seed).sample(with_questions, n_docs))
    out = []
    for item in items:
        if item.get("doc") and any(s.endswith(item["doc"]) for s in hidden):
            item = dict(item, doc=None, anchor=None, kind="held_out", held_out_doc=item["doc"])
        out.append(item)
    info = {"n_docs": n_docs, "seed": seed, "docs": [Path(s).name for s in hidden],
            "questions": sum(1 for x in out if x["kind"] == "held_out")}
    return out, Filters(exclude_sources=tuple(hidden)), info


def run_eval(assistant, qa: Path | list[dict], k: int = 5, generate: bool = True, out: Path | None = None,
             hold_out_docs: int = 0, seed: int = 0, conversations: Path | None = None) -> dict:
    """`qa`: a QA-format file, or its questions already read (the organisation's labels)."""
    assistant = assistant.clone(audit_enabled=False)  # evaluation questions are not citizens' questions
    items = load_qa(qa) if isinstance(qa, (str, Path)) else list(qa)
    filters, held = Filters(), None
    if hold_out_docs:
        items, filters, held = hold_out(assistant, items, hold_out_docs, seed)
    answerable = [x for x in items if x.get("doc")]
    variants = {m: (assistant, m) for m in MODES}
    if assistant.reranker is not None:  # its worth is the difference: the same run without it
        variants[WITHOUT_RERANKER] = (assistant.clone(reranker_model=""), "hybrid")
    ranks: dict[str, list] = {v: [] for v in variants}
    latencies: dict[str, list[float]] = {v: [] for v in variants}
    per_question = []
    for item in answerable:
        row = {"id": item["id"], "kind": item["kind"]}
        for variant, (bot, mode) in variants.items():
            started = time.perf_counter()
            hits = bot.retrieve(item["question"], max(k, MRR_DEPTH), mode, filters)
            latencies[variant].append((time.perf_counter() - started) * 1000)
            rank = first_hit_rank(hits, item)
            rank = rank if rank and rank <= MRR_DEPTH else None
            ranks[variant].append(rank)
            row[variant] = rank
        per_question.append(row)
    result: dict = {"n": len(items), "k": k, "mrr_depth": MRR_DEPTH}
    result.update({key: value for key, value in summarise(ranks["hybrid"], k).items() if key != "n"})
    result["recall@5"] = round(sum(1 for r in ranks["hybrid"] if r and r <= 5) / max(len(answerable), 1), 4)
    result["by_retriever"] = {v: summarise(ranks[v], k) for v in variants}
    result["retrieve_ms"] = {v: percentiles(latencies[v]) for v in variants}
    result["reranker"] = assistant.reranker.describe() if assistant.reranker else None
    kinds = sorted({x["kind"] for x in answerable})
    result["per_kind"] = {kind: {m: summarise([r for r, x in zip(ranks[m], answerable) if x["kind"] == kind], k)
                                 for m in MODES} for kind in kinds}
    if generate:
        result.update(answer_quality(assistant, items, filters, held))
    else:
        result.update(dict.fromkeys(("citation_precision", "refusal_accuracy", "unanswerable_refused",
                                     "answerable_refused", "outcome_accuracy")))
    if conversations:
        from .conversations import run_conversations

        result["conversations"] = run_conversations(assistant, conversations)
    result["per_question"] = per_question
    save(result, assistant.settings.index_dir / "eval" / "latest.json")
    if out:
        save(result, Path(out))
    return result


def family_of_file(doc: str) -> str:
    """law_기초연금법.md, decree_기초연금법_시행령.md, rule_기초연금법_시행규칙.md -> 기초연금법 (a file name; a title's
    family is `answering.candidates.family_of_title`)."""
    return re.sub(r"_?시행(령|규칙)$", "", Path(doc).stem.split("_", 1)[-1])


def sibling(source: str, held_out_doc: str) -> bool:
    """A held-out statute's own 시행령/시행규칙 (or the law of a held-out decree): a question about it may be answered
    there too. Such answers are counted as misses, and their number is reported."""
    return family_of_file(source) == family_of_file(held_out_doc)


def answer_quality(assistant, items: list[dict], filters: Filters = Filters(), held: dict | None = None) -> dict:
    cited = good = 0
    wrong_articles = 0
    samples, rows = [], []
    for item in items:
        answer = assistant.ask(item["question"], filters=filters)
        miss = chain_miss(answer, item) if item.get("parents") else None
        chunks = {(h.chunk.source, h.chunk.text) for h in answer.hits}
        right = 0
        for c in answer.citations:
            cited += 1
            in_chunk = any(src == c.source and c.quote in text for src, text in chunks)
            right += in_chunk and (is_hit(c.source, c.anchor, item.get("doc"), item.get("anchor"))
                                   or any(c.source.endswith(doc) for doc in item.get("docs", []))
                                   or any(is_hit(c.source, c.anchor, doc, anchor)  # the delegating authority
                                          for doc, anchor in item.get("parents", [])))
            wrong_articles += not in_chunk
        good += right
        rows.append({"id": item["id"], "kind": item["kind"], "answerable": outcome_expected(item) != "refuse",
                     "expected": outcome_expected(item), "outcome": answer.outcome,
                     "outcome_right": outcome_right(answer, item),
                     "right": outcome_right(answer, item) and (outcome_expected(item) != "answer" or bool(
                         answer.citations and is_hit(answer.citations[0].source, answer.citations[0].anchor,
                                                     item.get("doc"), item.get("anchor")))),
                     "refused": answer.refused, "support": round(answer.support, 3),
                     "citations": len(answer.citations), "correct_citations": right,
                     "top": f"{answer.citations[0].title} {answer.citations[0].anchor}" if answer.citations else None,
                     "top_source": answer.citations[0].source if answer.citations else None,
                     "held_out_doc": item.get("held_out_doc"),
                     # DESIGN.md's chain rule, for items with `parents` (None for the others)
                     "chain_right": miss is None if item.get("parents") else None, "chain_miss": miss})
        if len(samples) < 6:
            samples.append({"question": item["question"], "answer": answer.answer, "refused": answer.refused})
    answerable = [r for r in rows if r["expected"] == "answer"]
    unanswerable = [r for r in rows if not r["answerable"]]
    share = lambda part, whole: round(len(part) / len(whole), 4) if whole else None  # noqa: E731
    out = {"citation_precision": round(good / cited, 4) if cited else 0.0,
           "refusal_accuracy": share([r for r in rows if r["refused"] != r["answerable"]], rows),
           "unanswerable_refused": share([r for r in unanswerable if r["refused"]], unanswerable),
           "answerable_refused": share([r for r in answerable if r["refused"]], answerable),
           "outcome_accuracy": share([r for r in rows if r["outcome_right"]], rows),
           # the outcome expected and, for an answer, the first citation in the expected article or section
           "right": share([r for r in rows if r["right"]], rows),
           "choose_right": share([r for r in rows if r["expected"] == "choose" and r["outcome_right"]],
                                 [r for r in rows if r["expected"] == "choose"]),
           "answered_right_article": share([r for r in answerable if not r["refused"] and r["correct_citations"]
                                            and r["correct_citations"] == r["citations"]], answerable),
           "chain_accuracy": share([r for r in rows if r["chain_right"]],
                                   [r for r, x in zip(rows, items) if x.get("parents")]),
           # where the chain items that missed went wrong (ranking, refusal, or a chain not followed far enough)
           "chain_misses": {kind: sum(r["chain_miss"] == kind for r in rows) for kind in CHAIN_MISSES}
           if any(x.get("parents") for x in items) else None,
           "unverifiable_citations": wrong_articles, "samples": samples, "answers": rows}
    if held is not None:
        moved = [r for r in rows if r["kind"] == "held_out"]
        answered = [r for r in moved if not r["refused"]]
        from_sibling = [r for r in answered if sibling(r["top_source"], r["held_out_doc"])]
        held.update(refused=share([r for r in moved if r["refused"]], moved), answered_from_sibling=len(from_sibling),
                    refused_without_sibling=share([r for r in moved if r["refused"]],
                                                  [r for r in moved if r not in from_sibling]))
        out["hold_out"] = held
    return out


CHAIN_MISSES = ("refused", "led_elsewhere", "stopped_short")


def chain_miss(answer, item: dict) -> str | None:
    """How an item with `parents` missed DESIGN.md's chain rule (not refused, cites the expected article, led by it or
    by an article that delegates to it), None when it did not: "refused"; "led_elsewhere", the lead is neither the
    expected article nor a parent (a ranking miss); "stopped_short", the lead is right but the expected article is not
    cited (the chain was not followed to it)."""
    if answer.refused or not answer.citations:
        return "refused"
    lead = answer.citations[0]
    if not any(is_hit(lead.source, lead.anchor, doc, anchor)
               for doc, anchor in [(item["doc"], item["anchor"]), *item["parents"]]):
        return "led_elsewhere"
    if not any(is_hit(c.source, c.anchor, item["doc"], item["anchor"]) for c in answer.citations):
        return "stopped_short"
    return None


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


ANSWER_FIGURES = (("citation_precision", "citation\nprecision"), ("refusal_accuracy", "refusal\naccuracy"),
                  ("unanswerable_refused", "unanswerable\nrefused"), ("answerable_refused", "answerable\nrefused"))


def chart(result: dict, path: Path) -> None:
    """Per-kind recall@k bars for each retriever and, when answers were evaluated, the answer figures beside them
    (held-out documents' questions refused, in leave-documents-out mode): people look at charts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(result["per_kind"])
    k = result["k"]
    answers = [(label, result[key]) for key, label in ANSWER_FIGURES if result.get(key) is not None]
    if result.get("hold_out"):
        answers.append((f"held-out\nrefused ({result['hold_out']['n_docs']} docs)", result["hold_out"]["refused"]))
    fig, axes = plt.subplots(1, 2 if answers else 1, figsize=(max(6, 1.4 * len(kinds) + 2) + (6 if answers else 0), 4),
                             squeeze=False)
    ax = axes[0][0]
    width = 0.8 / len(MODES)
    for i, mode in enumerate(MODES):
        values = [result["per_kind"][kind][mode][f"recall@{k}"] for kind in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], values, width, label=mode)
    ax.set_xticks([x + width for x in range(len(kinds))], kinds)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"recall@{k}")
    ax.set_title(f"recall@{k} by question kind (hybrid {result[f'recall@{k}']:.2f}, MRR {result['mrr']:.2f})")
    ax.legend()
    if answers:
        ax = axes[0][1]
        bars = ax.bar(range(len(answers)), [v or 0.0 for _, v in answers], color="#4c72b0")
        ax.bar_label(bars, fmt="%.3f")
        ax.set_xticks(range(len(answers)), [label for label, _ in answers])
        ax.set_ylim(0, 1.08)
        ax.set_title(f"answers ({result['n']} questions)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
