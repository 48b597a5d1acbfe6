"""`assistant tune LABELLED.jsonl`: re-fit the learned ranker and the answerability model on an organisation's own
labelled questions (the QA format of DESIGN.md; the admin review queue writes it) beside the shipped training rows,
and install them into the index folder only when they do better on questions their fit did not see.

The guard is cross-validation over the labelled questions: every figure compared is read on folds the fit left
out, for the current models and the new ones alike, on the same questions. Folds hold questions, not statute
families (as the packaged models' reports do): what tune must show is that the organisation's next questions about
its own documents are answered better, and the memory of labelled questions (answering/memory.py) only ever holds
the other folds' questions. Labels that contradict the documents (a passage that is not in the index, or not among
its question's candidates) or each other (one question, two different answers) are set aside before anything is
fitted; labels that are merely wrong (poisoned) make the held-out figures no better, so nothing is installed. A
new model must win by `MIN_GAIN` questions, not by one lucky flip."""
from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import numpy as np

from ..answering.answerability import AnswerabilityModel, train
from ..evaluation.hits import is_hit
from .collect import answerability_rows, ranking_rows
from .crossval import best_penalty, by_model, fit_rows, folds_of, memory_of, read_memory, remembered, scored_figures
from .models import SHIPPED_ANSWERABILITY, SHIPPED_RANKING, install
from .review import normalised

log = logging.getLogger(__name__)
FOLDS = 5
MIN_LABELS = 6  # fewer answerable labels than this teach nothing a fold could check
MIN_GAIN = 2  # held-out questions the new model must get right beyond those it gets wrong that the current got right
ORG_WEIGHT = 2.0  # the least an organisation's question counts in the fit, in shipped questions
MAX_ANSWERABLE_REFUSED = 0.04  # the answerability operating point, as for the packaged model
KINDS = ("fact", "article", "numeric", "procedure", "multi", "unanswerable", "choose")


def check_labels(index, items: list[dict]) -> tuple[list[dict], list[dict]]:
    """(usable, set aside with the reason): a label needs a question and a kind; an answerable one a document that
    is indexed and an anchor found in it; one question labelled with two different answers is set aside whole."""
    usable, problems = [], []
    chunks_of: dict[str, list] = {}
    for c in index.chunks:
        chunks_of.setdefault(c.source, []).append(c)
    answers: dict[str, set] = {}
    for item in items:
        answers.setdefault(normalised(item.get("question", "")), set()).add(
            (item.get("doc"), item.get("anchor")) if item.get("kind") != "choose" else tuple(item.get("docs") or ()))
    for item in items:
        question, doc, kind = normalised(item.get("question", "")), item.get("doc"), item.get("kind")
        problem = None
        if not question:
            problem = "질문이 비어 있습니다"
        elif kind not in KINDS:
            problem = f"알 수 없는 종류입니다: {kind!r}"
        elif len(answers[question]) > 1:
            problem = "같은 질문에 서로 다른 답이 표시되어 있습니다"
        elif kind not in ("unanswerable", "choose"):
            sources = [s for s in chunks_of if doc and s.endswith(doc)]
            if not sources:
                problem = f"문서가 색인에 없습니다: {doc}"
            elif item.get("anchor") and not any(is_hit(c.source, c.anchor, doc, item["anchor"])
                                                for s in sources for c in chunks_of[s]):
                problem = f"조문이 문서에 없습니다: {doc} {item['anchor']}"
        if problem:
            problems.append({"id": item.get("id"), "question": question[:80], "problem": problem})
        else:
            usable.append(dict(item, question=question))
    return usable, problems


def read_shipped(path: Path) -> list[dict]:
    return json.loads(gzip.decompress(path.read_bytes()))


def improvement(before: list[np.ndarray], after: list[np.ndarray], rows: list[dict]) -> tuple[int, int]:
    """(questions the new order gets right at rank 1 that the old did not, and the reverse)."""
    won = lost = 0
    for b, a, row in zip(before, after, rows):
        labels = np.asarray(row["labels"])
        right_b = labels[int(np.argmax(b))] > 0
        right_a = labels[int(np.argmax(a))] > 0
        won += int(right_a and not right_b)
        lost += int(right_b and not right_a)
    return won, lost


def found_by_retrieval(rows: list[dict], items: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """(ranking rows, labels, set aside): a label whose passage is not among its question's candidates is set
    aside. The review queue offers the top 10, so an honest label is among them; one that is not contradicts the
    documents as the index reads them (a shuffled or mistyped label) and would teach a wrong lesson."""
    found = {r["id"] for r in rows if max(r["labels"], default=0) > 0}
    problem = "라벨의 구절이 이 질문의 검색 후보 안에 없습니다 (질문과 맞지 않는 라벨일 수 있습니다)"
    return ([r for r in rows if r["id"] in found], [x for x in items if x["id"] in found],
            [{"id": x["id"], "question": x["question"][:80], "problem": problem}
             for x in items if x["id"] not in found])


def tune_ranker(assistant, rows: list[dict], seed: int) -> dict:
    """The current ranker and a re-fitted one (shipped rows + the other folds' labels), on every labelled
    question's held-out fold."""
    shipped = read_shipped(SHIPPED_RANKING)
    # the organisation's questions weigh as much together as the shipped ones: they are the questions it asks
    rows = [dict(r, group=r["id"], weight=max(ORG_WEIGHT, len(shipped) / max(len(rows), 1))) for r in rows]
    k = min(FOLDS, len({r["group"] for r in rows}))
    current = by_model(assistant.ranker)
    memory = assistant.memory  # what the current ranker reads (a previous tune's labels), as it answers now
    before_scores = [current(read_memory(r, memory)) for r in rows]
    l2, tried, after_scores = best_penalty(rows, k, seed, fixed=shipped)
    after, before = tried[l2], scored_figures(rows, before_scores)
    won, lost = improvement(before_scores, after_scores, rows)
    better = won - lost >= MIN_GAIN
    model = fit_rows(remembered(rows, rows) + shipped, l2, report={
        "trained_on": "tune", "questions": len(rows), "shipped_questions": len(shipped), "l2": str(l2),
        "cross_validated": {"folds": k, "before": before, "after": after, "won": won, "lost": lost}})
    return {"rows": len(rows), "folds": k, "before": before, "after": after, "won": won, "lost": lost,
            "l2": str(l2), "better": better, "model": model,
            "memory": memory_of(rows, assistant.embedder.model_id)}


def refusal_figures(decide, rows: list[dict]) -> dict:
    """Refusal accuracy over the labelled questions (unanswerable refused, answerable answered), the share of
    answerable ones refused, and the accuracy with their held-out copies (each answerable question asked with its
    family hidden: one the index cannot answer) counted too."""
    own = [r for r in rows if not r["id"].endswith("/held-out")]
    answerable = [r for r in own if r["answerable"]]
    share = lambda part, whole: round(part / len(whole), 4) if whole else None  # noqa: E731
    return {"n": len(own), "refusal_accuracy": share(sum(decide(r) == r["answerable"] for r in own), own),
            "answerable_refused": share(sum(not decide(r) for r in answerable), answerable),
            "refusal_accuracy_with_held_out": share(sum(decide(r) == r["answerable"] for r in rows), rows)}


def fit_answerability(shipped: list[dict], own: list[dict], report: dict | None = None) -> AnswerabilityModel:
    """Coefficients from the shipped rows and the organisation's (counted `ORG_WEIGHT` times); the operating point
    from the organisation's answerable rows alone: the packaged one was set at the public documents' scale, which
    is not this index's (a small corpus gives higher cosines to everything)."""
    rows = shipped + [r for r in own for _ in range(int(ORG_WEIGHT))]
    x = np.array([r["features"] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows], dtype=float)
    sets_the_point = np.array([r["answerable"] for r in rows]) & (np.arange(len(rows)) >= len(shipped))
    return train(x, y, sets_the_point, MAX_ANSWERABLE_REFUSED, report=report)


def tune_answerability(assistant, items: list[dict], seed: int) -> dict:
    """The current answerability model and one re-fitted on the shipped rows and the other folds' labels (with
    their held-out copies: the same question asked with its family hidden, at this index's own scale)."""
    collector = assistant.clone(audit_enabled=False)
    collector.__dict__["answerability"] = AnswerabilityModel.neutral()  # answer everything while collecting
    rows = [dict(r, group=r["id"].removesuffix("/held-out")) for r in answerability_rows(collector, items)]
    shipped = read_shipped(SHIPPED_ANSWERABILITY)
    current = assistant.answerability
    before = refusal_figures(lambda r: current.probability(tuple(r["features"])) >= 0.5, rows)
    groups = {r["group"] for r in rows}
    k = min(FOLDS, len(groups))
    fold = folds_of(groups, k, seed)
    decided: dict[str, bool] = {}
    for f in range(k):
        model = fit_answerability(shipped, [r for r in rows if fold[r["group"]] != f])
        decided.update((r["id"], model.probability(tuple(r["features"])) >= 0.5)
                       for r in rows if fold[r["group"]] == f)
    after = refusal_figures(lambda r: decided[r["id"]], rows)
    # decided on every row, the held-out copies too: a small index's own questions are few, their copies as many
    now = {r["id"]: current.probability(tuple(r["features"])) >= 0.5 for r in rows}
    won = sum(decided[r["id"]] == r["answerable"] != now[r["id"]] for r in rows)
    lost = sum(now[r["id"]] == r["answerable"] != decided[r["id"]] for r in rows)
    better = won - lost >= MIN_GAIN
    report = {"trained_on": "tune", "rows": len(rows), "shipped_rows": len(shipped),
              "max_answerable_refused": MAX_ANSWERABLE_REFUSED,
              "cross_validated": {"folds": k, "before": before, "after": after, "won": won, "lost": lost}}
    model = fit_answerability(shipped, rows, report)
    return {"rows": len(rows), "folds": k, "before": before, "after": after, "won": won, "lost": lost,
            "better": better, "model": model}


def tune(assistant, labels: list[dict], dry_run: bool = False, by: str = "cli", seed: int = 0) -> dict:
    """DESIGN.md's contract: {"n","folds","before","after","installed","reason","models", …}."""
    from ..governance.audit import record_event

    usable, problems = check_labels(assistant.index, labels)
    answerable = [x for x in usable if x.get("kind") not in ("unanswerable", "choose")]
    rows, answerable, unfound = found_by_retrieval(ranking_rows(assistant, answerable), answerable)
    problems += unfound
    usable = [x for x in usable if x.get("kind") in ("unanswerable", "choose")] + answerable
    base = {"n": len(labels), "usable": len(usable), "set_aside": problems, "dry_run": dry_run}
    if len(answerable) < MIN_LABELS or len({x["doc"] for x in answerable}) < 2:
        return {**base, "folds": 0, "before": None, "after": None, "installed": False, "models": None,
                "reason": f"쓸 수 있는 답 있는 라벨이 {len(answerable)}개입니다: 두 문서 이상에 걸쳐 {MIN_LABELS}개 "
                          "이상 있어야 교차 검증을 할 수 있습니다. 아무것도 바꾸지 않았습니다."}
    ranker = tune_ranker(assistant, rows, seed)
    # the answerability features depend on which passage leads: read them under the ranker that would answer
    judged_by = assistant.clone()
    if ranker["better"]:  # without its memory: a question is not read in the light of its own label
        judged_by.__dict__.update(ranker=ranker["model"], memory=None)
    answerability = tune_answerability(judged_by, [x for x in usable if x.get("kind") != "choose"], seed)
    before = {**ranker["before"], **{k: v for k, v in answerability["before"].items() if k != "n"}}
    after = {**ranker["after"], **{k: v for k, v in answerability["after"].items() if k != "n"}}
    reasons = [("순위 모델이 보류된 질문에서 더 낫습니다" if ranker["better"] else
                "순위 모델이 보류된 질문에서 나아지지 않았습니다")
               + f" (1순위 정답 +{ranker['won']}/-{ranker['lost']}, 기준 +{MIN_GAIN})",
               ("답변 가능성 모델이 보류된 질문에서 더 낫습니다" if answerability["better"] else
                "답변 가능성 모델이 보류된 질문에서 나아지지 않았습니다")
               + f" (거절 판단 +{answerability['won']}/-{answerability['lost']})"]
    out = {**base, "folds": ranker["folds"], "before": before, "after": after,
           "ranker": {k: v for k, v in ranker.items() if k not in ("model", "memory")},
           "answerability": {k: v for k, v in answerability.items() if k != "model"},
           "installed": False, "reason": "; ".join(reasons), "models": assistant.models.describe()}
    if not (ranker["better"] or answerability["better"]):
        out["reason"] += ". 아무것도 바꾸지 않았습니다."
        return out
    if dry_run:
        out["reason"] += ". --dry-run: 설치하지 않았습니다."
        return out
    current = (assistant.ranker, assistant.memory)
    new_ranker, new_memory = (ranker["model"], ranker["memory"]) if ranker["better"] else current
    files = {"ranker.json": new_ranker.to_json() if new_ranker else None,
             "memory.json": new_memory.to_json() if new_memory and new_ranker else None,
             "answerability.json": (answerability["model"] if answerability["better"]
                                    else assistant.answerability).to_json()}
    if assistant.settings.ranker_model or assistant.settings.answerability_model:
        out["reason"] += (". 설정 파일이 ranker_model/answerability_model을 지정하고 있어 그 모델이 우선합니다: "
                          "설치한 모델을 쓰려면 그 설정을 비워 주세요")
    installed = install(assistant.settings.index_dir, {n: c for n, c in files.items() if c is not None},
                        {k: v for k, v in out.items() if k != "models"}, by)
    record_event(assistant, "tune", stamp=installed["stamp"], by=by,
                 **{name: digest[:16] for name, digest in installed["sha256"].items()})
    log.info("tune.installed", extra={"stamp": installed["stamp"]})
    fresh = assistant.clone(index_dir=assistant.settings.index_dir)
    return {**out, "installed": True, "stamp": installed["stamp"], "models": fresh.models.describe()}
