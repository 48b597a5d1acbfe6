"""Cross-validation by group (a statute family, or one unanswerable question): every figure a learned part reports
is read on questions about documents its fit did not see."""
from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from ..answering.memory import LabelMemory
from ..answering.ranker import MEMORY, RankerModel, fit_ranker


def folds_of(groups, k: int, seed: int = 0) -> dict[str, int]:
    """Each group's fold: groups shuffled with `seed`, dealt round-robin into `k` folds."""
    ordered = sorted(set(groups))
    random.Random(seed).shuffle(ordered)
    return {g: i % k for i, g in enumerate(ordered)}


# penalties tried; infinity is no correction at all (the hand-set order), chosen when no fit beats it out of fold
L2_GRID = (0.3, 3.0, 30.0, 300.0, 3000.0, float("inf"))


def ranking_arrays(rows: list[dict]) -> tuple[np.ndarray, ...]:
    """(features, labels, question index, hand-set score, weight) stacked over the rows' candidates."""
    x = np.vstack([np.asarray(r["features"], dtype=float) for r in rows])
    y = np.concatenate([np.asarray(r["labels"], dtype=float) for r in rows])
    q = np.concatenate([np.full(len(r["labels"]), i) for i, r in enumerate(rows)])
    h = np.concatenate([np.asarray(r["hand"], dtype=float) for r in rows])
    w = np.concatenate([np.full(len(r["labels"]), float(r.get("weight", 1.0))) for r in rows])
    return x, y, q, h, w


def ranking_figures(rows: list[dict], score: Callable[[dict], np.ndarray]) -> dict:
    """recall@1 and MRR over the rows' questions when each question's candidates are ordered by `score(row)`; a
    question none of whose candidates answers counts as a miss."""
    if not rows:
        return {"n": 0, "recall@1": None, "mrr": None}
    first, reciprocal = 0, 0.0
    for row in rows:
        labels = np.asarray(row["labels"])
        order = np.argsort(-np.asarray(score(row), dtype=float), kind="stable")
        hits = np.flatnonzero(labels[order] > 0)
        if len(hits):
            first += int(hits[0] == 0)
            reciprocal += 1.0 / (hits[0] + 1)
    return {"n": len(rows), "recall@1": round(first / len(rows), 4), "mrr": round(reciprocal / len(rows), 4)}


def scored_figures(rows: list[dict], scores: list[np.ndarray]) -> dict:
    """`ranking_figures` for scores already given, one array per row."""
    return ranking_figures([dict(r, scores=s) for r, s in zip(rows, scores)], lambda r: r["scores"])


def hand_set(row: dict) -> np.ndarray:
    """The order without a learned ranker (the settings' rerank_* sum)."""
    return np.asarray(row["hand"], dtype=float)


def by_model(model: RankerModel | None) -> Callable[[dict], np.ndarray]:
    """The order a ranker gives (None: the hand-set one)."""
    if model is None:
        return hand_set
    return lambda row: hand_set(row) + model.corrections(np.asarray(row["features"], dtype=float))


def fit_rows(rows: list[dict], l2: float, report: dict | None = None) -> RankerModel:
    x, y, q, h, w = ranking_arrays(rows)
    return fit_ranker(x, y, q, h, w, l2, report=report)


def memory_of(pool: list[dict], embedder: str = "") -> LabelMemory:
    """The labelled questions of `pool` (rows that carry their question's vector) as a memory: each answered by
    the candidates labelled as answering it."""
    return LabelMemory.from_items([{"vector": r["vector"], "keys": [k for k, y in zip(r["keys"], r["labels"]) if y > 0]}
                                   for r in pool if "vector" in r], embedder)


def read_memory(row: dict, memory: LabelMemory | None, leave_out: int | None = None) -> dict:
    """The row as a ranker reading `memory` sees it (None: no memory, zeros); `leave_out` as in
    LabelMemory.features. A row without a vector (a shipped one) is returned as it is."""
    if "vector" not in row:
        return row
    x = np.array(row["features"], dtype=float)
    x[:, MEMORY] = memory.features(np.asarray(row["vector"]), row["keys"], leave_out) if memory is not None else 0.0
    return dict(row, features=x)


def remembered(rows: list[dict], pool: list[dict]) -> list[dict]:
    """`rows` with their memory columns read from the labelled questions of `pool`, a row's own question left out
    (no question is its own evidence). Rows without a vector (the shipped ones) keep zeros."""
    memory = memory_of(pool)
    place = {r["id"]: i for i, r in enumerate(r for r in pool if "vector" in r)}
    return [read_memory(row, memory, place.get(row["id"])) for row in rows]


def out_of_fold(rows: list[dict], l2: float, k: int, seed: int, fixed: list[dict] = ()) -> list[np.ndarray]:
    """Each row's learned order from a ranker fitted on the other folds of `rows` plus `fixed` (rows always in the
    fit: the shipped data beside an organisation's labels); the memory of labelled questions holds only the
    other folds' questions."""
    fold = folds_of([r["group"] for r in rows], k, seed)
    scores: list[np.ndarray | None] = [None] * len(rows)
    for f in range(k):
        test = [i for i, r in enumerate(rows) if fold[r["group"]] == f]
        if not test:
            continue
        train = [r for r in rows if fold[r["group"]] != f]
        model = fit_rows(remembered(train, train) + list(fixed), l2)
        for i, row in zip(test, remembered([rows[i] for i in test], train)):
            scores[i] = by_model(model)(row)
    return scores


def best_penalty(rows: list[dict], k: int, seed: int, fixed: list[dict] = (),
                 grid=L2_GRID) -> tuple[float, dict, list[np.ndarray]]:
    """The L2 penalty whose out-of-fold order is best (recall@1, then MRR; the larger penalty on a tie): (it, the
    out-of-fold figures of every penalty tried, its out-of-fold scores)."""
    scores = {l2: out_of_fold(rows, l2, k, seed, fixed) for l2 in grid}
    tried = {l2: scored_figures(rows, s) for l2, s in scores.items()}
    chosen = max(grid, key=lambda l2: (tried[l2]["recall@1"], tried[l2]["mrr"], l2))
    return chosen, tried, scores[chosen]


def cross_validated_ranker(rows: list[dict], k: int = 5, seed: int = 0, fixed: list[dict] = (),
                           grid=L2_GRID) -> dict:
    """`best_penalty`'s choice with the out-of-fold figures of every penalty tried and of the hand-set order on
    the same questions."""
    chosen, tried, _ = best_penalty(rows, k, seed, fixed, grid)
    return {"folds": k, "l2": chosen, "learned": tried[chosen], "hand_set": ranking_figures(rows, hand_set),
            "tried": {str(l2): f for l2, f in tried.items()}}
