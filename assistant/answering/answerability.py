"""Answerability: does the chunk about to be quoted answer the question, or does it merely share a word with it?

A question names a focus (the programme, institution or procedure it is about) and asks for something (a period,
an age, an amount). Both must be met by the quoted article itself. The signals are generic — morphology, idf, the
document's own title, the answer type, agreement of the two retrievers — and a small logistic model weighs them.
It is trained by `scripts/train_answerability.py` only on data generated from the public evaluation set by leaving
documents out (a question whose document is hidden is a question the corpus cannot answer) and is reported on
documents it was not trained on (cross-validation by document)."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.links import level_of

from ..errors import ConfigError
from ..index.keyword import STATUTE_WORDS, BM25Index, KoreanTokenizer, answer_patterns, share

PACKAGED_MODEL = Path(__file__).with_name("answerability.json")
FEATURES = ("coverage", "cosine", "quote_focus", "missing_focus", "document_focus", "title", "answer_type_missing",
            "retrievers_agree", "families", "cosine_gap", "named_statute_missing", "linked_below")
# A statute named in the question: a word ending in 법/법률/조례/규칙/시행령 ("노인복지법상", "…에 관한 법률 제2조",
# "경기도 청년 기본 조례에서"). Common nouns of that shape (방법, 불법, 명령 …) are not names.
STATUTE = re.compile(r"[가-힣ㆍ·]*(?:법률|법|조례|규칙|시행령|시행규칙)(?=\s*제\s*\d|상|에서|에|은|는|의|이|가|을|를|과|와|로|으로"
                     r"|\s|[?,.」』'\"]|$)")
NOT_NAMES = {"방법", "불법", "위법", "적법", "편법", "입법", "문법", "수법", "용법", "해법", "기법", "요법", "합법"}
BARE = {"법", "법률", "조례", "규칙", "시행령", "시행규칙"}


def statute_mentions(question: str) -> list[str]:
    """The words naming statutes, each with up to three words before it ("경기도 청년 기본 조례")."""
    out = []
    for m in STATUTE.finditer(question):
        word = m.group(0)
        if word in NOT_NAMES:
            continue
        words = question[:m.start()].split()[-3:] if word in BARE or m.start() and question[m.start() - 1] == " " else []
        if word in BARE and not words:
            continue  # "조례의 시행일" speaks of ordinances in general
        out.append(" ".join([*words, word]))
    return out


def is_focus(term: str) -> bool:
    """Nouns, numbers and foreign words carry what a question is about; verb and adjective lemmas ("받다") do not."""
    return not term.endswith("다")


@dataclass(frozen=True)
class Judged:
    """The model's answerability probability and the features it read (kept for training and the audit)."""

    support: float
    features: tuple[float, ...]


def said_as_statutes(terms: dict[str, float], words: set[str]) -> set[str]:
    """`words` with each everyday question term whose statute word is among them ("산소" where "분묘" is)."""
    return words | {t for t in terms if any(w in words for w in STATUTE_WORDS.get(t, "").split())}


class Features:
    """Reads the answerability signals of (question, retrieved hits, the lines chosen for quoting)."""

    def __init__(self, tokenizer: KoreanTokenizer, keyword: BM25Index, rows_of_document, partners=None):
        """`partners`: row -> the rows of the articles it delegates to or carries out (`SearchIndex.
        delegation_partners`; none: no hit is read as linked)."""
        self.tokenizer, self.keyword, self.rows_of_document = tokenizer, keyword, rows_of_document
        self.partners = partners

    def in_document(self, terms: dict[str, float], source: str) -> set[str]:
        """The question terms that occur anywhere in the document."""
        rows = self.rows_of_document(source)
        if rows is None or not terms:
            return set()
        return {t for t, found in zip(terms, self.keyword.presence(terms, rows).any(axis=1)) if found}

    def __call__(self, question: str, hits: list, quotes: list[str], along: tuple = ()) -> tuple[float, ...]:
        """`along`: the hits of the lower lines the top one's delegation leads to, read as part of it (the 시행령
        article names the "오피스텔" its 법률 article leaves to it)."""
        terms = self.keyword.question_terms(self.tokenizer, question)
        focus = {t: w for t, w in terms.items() if is_focus(t)} or terms
        top = hits[0]
        chunk = top.chunk
        chunk_words = set(self.tokenizer.tokenize(" ".join([chunk.embed_text, *(h.chunk.embed_text for h in along)]),
                                                  compounds=False))
        quoted = set(self.tokenizer.tokenize(" ".join([chunk.title, chunk.article_title or "", *quotes]),
                                             compounds=False))
        # an everyday word is found where the statutes' word for it is ("산소" in a text on 분묘)
        chunk_words, quoted = said_as_statutes(focus, chunk_words), said_as_statutes(focus, quoted)
        missing = [w for t, w in focus.items() if t not in chunk_words]
        wanted = answer_patterns(question)
        cosines = [h.dense for h in hits if h.dense is not None]
        ranks = top.ranks or {}
        title_words = set(self.tokenizer.tokenize(chunk.title, compounds=False))
        return (
            float(top.coverage or 0.0),
            float(top.dense if top.dense is not None else 0.0),
            share(focus, quoted),
            max(missing) / max(focus.values()) if missing and focus else 0.0,
            share(focus, self.in_document(focus, chunk.source)),
            share(terms, title_words),
            float(bool(wanted) and not any(a.search(q) for a in wanted for q in quotes)),
            sum(1.0 / ranks[name] for name in ("dense", "keyword") if name in ranks) / 2,
            # statute families among the hits: a law with its 시행령 and 시행규칙 is one, any other document its own
            len({level_of(h.chunk.title, h.chunk.doc_type)[0] for h in hits}) / len(hits),
            float(cosines[0] - cosines[-1]) if len(cosines) > 1 else 0.0,
            self.named_statute_missing(question, title_words),
            self.linked_below(hits),
        )

    def linked_below(self, hits: list) -> float:
        """1.0 when a hit below the top one is an article the top one's article delegates to or carries out: the
        law article and the decree article that fills it in were each found on their own."""
        if self.partners is None:
            return 0.0
        partners = self.partners(hits[0].row)
        return float(any(h.row in partners for h in hits[1:]))

    def named_statute_missing(self, question: str, title_words: set[str]) -> float:
        """The idf-weighted share of the words naming a statute in the question that the quoted document's title
        lacks: asked about 「경기도 청년 기본 조례」, a quote from 「성남시 청년 기본 조례」 misses "경기도"."""
        named = [t for m in statute_mentions(question) for t in self.tokenizer.tokenize(m, compounds=False)]
        weights = {t: self.keyword.idf_of(t) for t in named}
        return 1.0 - share(weights, title_words) if weights else 0.0


class Judge:
    """(question, hits, quoted lines) -> Judged: the features read and the model's probability."""

    def __init__(self, model: "AnswerabilityModel", features: Features):
        self.model, self.features = model, features

    def __call__(self, question: str, hits: list, quotes: list[str], along: tuple = ()) -> Judged:
        read = self.features(question, hits, quotes, along)
        return Judged(self.model.probability(read), read)


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardised logistic regression; the intercept already holds the chosen operating point, so an answer is
    given when the probability is at least 0.5 (`min_support`)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    report: dict

    @classmethod
    def neutral(cls) -> "AnswerabilityModel":
        """Answers everything: used while features are collected to train a model."""
        n = len(FEATURES)
        return cls((0.0,) * n, (1.0,) * n, (0.0,) * n, 10.0, {})

    @classmethod
    def load(cls, path: Path | str = "") -> "AnswerabilityModel":
        path = Path(path) if path else PACKAGED_MODEL
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"답변 가능성 모델 파일을 읽을 수 없습니다: {path} ({exc})") from exc
        if tuple(data.get("features", ())) != FEATURES:
            raise ConfigError(f"답변 가능성 모델 {path}의 특징 목록이 이 버전과 다릅니다. "
                              "scripts/train_answerability.py로 다시 학습해 주세요.")
        return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]), float(data["intercept"]),
                   data.get("report", {}))

    def probability(self, features: tuple[float, ...]) -> float:
        z = self.intercept + sum(c * (x - m) / s for c, x, m, s in zip(self.coef, features, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": list(self.mean), "scale": list(self.scale), "coef": list(self.coef),
                "intercept": self.intercept, "report": self.report}


def standard_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (a constant column scaled by 1, not 0)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on standardised features (no intercept penalty)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        grad = design.T @ (p - y) + penalty * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def train(x: np.ndarray, y: np.ndarray, answerable: np.ndarray, max_answerable_refused: float,
          l2: float = 1.0, report: dict | None = None) -> AnswerabilityModel:
    """Fit on the labelled rows (y 1 or 0; -1 = not used for fitting), then move the intercept so that at most
    `max_answerable_refused` of the answerable rows fall below 0.5: refusing a question the documents answer costs
    a citizen as much as a wrong citation."""
    fit = y >= 0
    mean, scale = standard_scale(x[fit])
    z = (x - mean) / scale
    coef, intercept = fit_logistic(z[fit], y[fit], l2)
    margins = np.sort(z[answerable] @ coef + intercept)
    cut = margins[int(math.floor(max_answerable_refused * len(margins)))] if len(margins) else 0.0
    return AnswerabilityModel(tuple(mean), tuple(scale), tuple(coef), intercept - cut + 1e-6, report or {})
