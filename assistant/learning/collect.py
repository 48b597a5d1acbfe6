"""Training rows read from labelled questions over a loaded index: the ranker's (every candidate of a question with
its features and whether it answers) and the answerability model's (the quoted answer's features and whether the
question is answered; a labelled question asked again with its document's family hidden is one the index cannot
answer). Shared by scripts/train_ranker.py, scripts/train_answerability.py and `assistant tune`."""
from __future__ import annotations

import sys

import numpy as np

from ..answering.retrieve import Filters, Retriever
from ..evaluation.evaluate import family_of_file
from ..evaluation.hits import is_hit


def group_of(item: dict) -> str:
    """The group a cross-validation fold holds out whole: the statute family (law, 시행령, 시행규칙)."""
    return family_of_file(item["doc"]) if item.get("doc") else f"unanswerable:{item['id']}"


def progress(n: int, total: int, quiet: bool) -> None:
    if not quiet:
        print(f"\r{n}/{total}", end="" if n < total else "\n", file=sys.stderr)


def ranking_rows(assistant, items: list[dict], quiet: bool = True) -> list[dict]:
    """One row per answerable question: the features of its first `ranker_depth` fused candidates, which of them
    answer it (DESIGN.md's hit rule), and the hand-set score of each (the order without a ranker)."""
    assistant.load_models()
    index, settings = assistant.index, assistant.settings
    retriever = Retriever(index, assistant.embedder, assistant.tokenizer, settings)  # fused order, no ranker
    out = []
    answerable = [x for x in items if x.get("doc")]
    for n, item in enumerate(answerable, 1):
        found = retriever.candidates(item["question"], settings.top_k, read_features=True)
        if found.features is None or not len(found.read):
            continue
        chunks = [index.chunks[r] for r in found.read]
        hand = dict(found.best)
        out.append({"id": item["id"], "group": group_of(item),
                    "features": np.round(found.features, 5).tolist(),
                    "labels": [int(is_hit(c.source, c.anchor, item["doc"], item.get("anchor"))) for c in chunks],
                    "hand": [round(hand.get(r, 0.0), 6) for r in found.read],
                    "keys": retriever.article_keys(found.read),  # what the memory of labelled questions matches
                    "vector": np.round(found.query_vector, 5).tolist()})
        progress(n, len(answerable), quiet)
    return out


def answerability_rows(assistant, items: list[dict], quiet: bool = True) -> list[dict]:
    """Every answerable question gives two rows: asked of the whole index (label 1 when the first citation is in
    the right document; -1, not fitted on, when it is not) and asked with its family hidden (label 0). An
    unanswerable question gives one row (label 0). `assistant` should answer everything while collecting
    (`AnswerabilityModel.neutral()`)."""
    sources = [d["source"] for d in assistant.index.documents]
    rows = []
    for n, item in enumerate(items, 1):
        question = item["question"]
        if item.get("doc"):
            answer = assistant.ask(question)
            top = answer.citations[0] if answer.citations else None
            label = 1 if top and is_hit(top.source, top.anchor, item["doc"], None) else -1
            rows.append({"id": item["id"], "group": group_of(item), "answerable": True, "label": label,
                         "features": answer.features})
            hidden = tuple(s for s in sources if family_of_file(s) == family_of_file(item["doc"]))
            answer = assistant.ask(question, filters=Filters(exclude_sources=hidden))
            rows.append({"id": item["id"] + "/held-out", "group": group_of(item), "answerable": False,
                         "label": 0, "features": answer.features})
        else:
            answer = assistant.ask(question)
            rows.append({"id": item["id"], "group": group_of(item), "answerable": False, "label": 0,
                         "features": answer.features})
        progress(n, len(items), quiet)
    return [r for r in rows if r["features"]]  # no quotable line at all: refused whatever the model says
