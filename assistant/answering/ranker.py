"""The learned ranker: which of the candidates answers the question, from the signals retrieval already reads.

Rank fusion knows positions; the hand-set sum of coverage, cosine, title and answer type (the `rerank_*` settings)
corrects it. The learned ranker corrects that order in turn: a linear model over those signals and generic ones
about the candidate's structure (the article's own title, its best line, 정의/목적/벌칙/부칙, 법률 or 시행령, reached
by a statute link) adds to each candidate's score. It is fitted listwise (the softmax over a question's candidates
should put its mass on those that answer), with the hand-set score as the offset it starts from and an L2 penalty
chosen by cross-validation over statute families: where no correction holds up on families a fit did not see, the
penalty chosen is the largest and the correction is nearly nothing. The packaged `ranker.json` is trained by
`scripts/train_ranker.py` on the public set; `assistant tune` re-fits it on an organisation's own labelled
questions (assistant/learning/tune.py)."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.links import level_of

from ..errors import ConfigError
from ..index.keyword import share, written_share
from .answerability import standard_scale
from .asked import asked_sections, in_asked_section

PACKAGED_RANKER = Path(__file__).with_name("ranker.json")
FEATURES = ("score", "place", "cosine", "cosine_gap", "coverage", "dense_rank", "keyword_rank", "article_ref",
            "title", "article_title", "best_line", "answer_type", "asked_section", "definition", "definition_asked",
            "purpose", "penalty", "addenda", "decree", "rule", "ordinance", "welfare", "linked", "length",
            "memory_article", "memory_document")
MEMORY = slice(len(FEATURES) - 2, len(FEATURES))  # the two columns read from the labelled questions (memory.py)
TEMPERATURE = 1000.0  # logits per unit of the hand-set score (its differences near the top are ~0.001-0.01)
PENALTY_TITLE = re.compile(r"벌칙|과태료|벌금|양벌")
# a question about what a word means ("~란 무엇", "뜻", "정의") is answered by a 정의 article; others rarely are
ASKS_MEANING = re.compile(r"뜻|의미|정의|란\s*(무엇|뭐)|이란|라는\s*(게|것|말)")


class RankingSignals:
    """Reads the ranker's features of the fused candidates of one question over one loaded index generation."""

    def __init__(self, index, tokenizer):
        self.index, self.tokenizer = index, tokenizer

    def read(self, question: str, terms: dict[str, float], best: list[tuple[int, float]], ranks: dict,
             cosine: dict, coverage: dict, typed: dict, remembered: np.ndarray | None = None) -> np.ndarray:
        """(len(best) x len(FEATURES)) for the candidates `best` in their order; `remembered`: the memory
        columns (LabelMemory.features), zeros without one."""
        chunks = self.index.chunks
        asked = asked_sections(question)
        meaning = bool(ASKS_MEANING.search(question))
        top = best[0][1] if best and best[0][1] > 0 else 1.0
        cosines = [cosine[r] for r, _ in best if cosine.get(r) is not None]
        best_cos = max(cosines, default=0.0)
        out = np.zeros((len(best), len(FEATURES)))
        for i, (row, score) in enumerate(best):
            c = chunks[row]
            r = ranks.get(row, {})
            article_title = (c.article_title or "").strip()
            lines = c.text.split("\n")[1:] or [c.text]
            definition = float("정의" in article_title)
            level = level_of(c.title, c.doc_type)[1]
            cos = cosine.get(row)
            out[i] = (
                score / top,
                1.0 / (i + 1),
                cos or 0.0,
                (cos - best_cos) if cos is not None else 0.0,
                coverage.get(row, 0.0),
                1.0 / r["dense"] if "dense" in r else 0.0,
                1.0 / r["keyword"] if "keyword" in r else 0.0,
                float("article" in r),
                share(terms, self.index.words_of(c.title, self.tokenizer)),
                share(terms, self.index.words_of(article_title, self.tokenizer)) if article_title else 0.0,
                max((written_share(terms, line) for line in lines), default=0.0),
                typed.get(row, 0.0),
                float(c.doc_type == "welfare" and bool(asked) and in_asked_section(c.anchor, asked)),
                definition,
                definition * meaning,
                float(article_title == "목적"),
                float(bool(PENALTY_TITLE.search(article_title))),
                float(c.anchor.startswith("부칙")),
                float(level == 1),  # 시행령
                float(level == 2),  # 시행규칙
                float(c.doc_type == "ordinance"),
                float(c.doc_type == "welfare"),
                float("link" in r),
                math.log1p(len(c.text)) / 8.0,
                0.0, 0.0,
            )
        if remembered is not None:
            out[:, MEMORY] = remembered
        return out


@dataclass(frozen=True)
class RankerModel:
    """A linear correction over standardised features, in units of the hand-set score: candidate i's new score is
    score_i + (z_i · coef) / temperature, so `temperature` is how many logits one unit of score is worth."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    temperature: float
    report: dict

    @classmethod
    def load(cls, path: Path | str = "") -> "RankerModel":
        path = Path(path) if path else PACKAGED_RANKER
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if tuple(data.get("features", ())) != FEATURES:
                raise ConfigError(f"순위 모델 {path}의 특징 목록이 이 버전과 다릅니다. "
                                  "scripts/train_ranker.py 또는 assistant tune으로 다시 학습해 주세요.")
            return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]), float(data["temperature"]),
                       data.get("report", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"순위 모델 파일을 읽을 수 없습니다: {path} ({exc})") from exc

    def corrections(self, x: np.ndarray) -> np.ndarray:
        return ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef) / self.temperature

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "temperature": self.temperature, "report": self.report}

    def reorder(self, best: list[tuple[int, float]], x: np.ndarray) -> list[tuple[int, float]]:
        """The first len(x) candidates re-scored and re-ordered; the rest keep their order below them."""
        n = len(x)
        if n == 0:
            return best
        corrected = sorted(((r, s + float(c)) for (r, s), c in zip(best[:n], self.corrections(x))),
                           key=lambda t: -t[1])
        rest = best[n:]
        floor = corrected[-1][1]
        if rest and rest[0][1] >= floor:  # keep the rest below: shifted down, their own order kept
            shift = rest[0][1] - floor + 1e-9
            rest = [(r, s - shift) for r, s in rest]
        return corrected + rest


def fit_ranker(x: np.ndarray, y: np.ndarray, question: np.ndarray, score: np.ndarray,
               weight: np.ndarray | None = None, l2: float = 1.0, temperature: float = TEMPERATURE,
               report: dict | None = None) -> RankerModel:
    """Listwise logistic (a conditional logit per question): minimise, over the questions with an answering and a
    non-answering candidate, -log(softmax mass on the answering ones) of temperature * score + z · coef, plus
    l2/2 |coef|². `weight` (per candidate row) weighs each question: an organisation's labels may count more
    than the shipped ones. An infinite `l2` is no correction at all: the hand-set order."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    mean, scale = standard_scale(x)
    if np.isinf(l2):
        return RankerModel(tuple(mean), tuple(scale), (0.0,) * x.shape[1], temperature, report or {})
    weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    z = (x - mean) / scale
    lists = []
    for q in np.unique(question):
        rows = np.flatnonzero(question == q)
        answers = y[rows] > 0
        if answers.any() and not answers.all():
            lists.append((z[rows], answers, temperature * (score[rows] - score[rows].max()), weight[rows].max()))
    if not lists:
        raise ValueError("no question has both an answering and a non-answering candidate")

    def loss(coef):
        value, grad = l2 / 2 * coef @ coef, l2 * coef
        for zq, answers, offset, w in lists:
            s = zq @ coef + offset
            value += w * (logsumexp(s) - logsumexp(s[answers]))
            grad += w * (softmax(s) @ zq - softmax(s[answers]) @ zq[answers])
        return value, grad

    coef = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    return RankerModel(tuple(mean), tuple(scale), tuple(float(c) for c in coef), temperature, report or {})
