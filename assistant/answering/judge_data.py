"""Training data for a judge that reads a question and a passage together (#25), made from the statutes' own
structure, never from evaluation questions.

A made question asks for what an article *says* rather than repeating its title: the figure or deadline a 항/호
states ("…은 신청을 받은 날부터 며칠 이내에 결정하여야 하나요?") or the meaning of a term a 정의 article defines
("'위기가구'란 무엇인가요?"). Its positive is the passage that states it, exactly as the index holds it
(`Chunk.embed_text`, headings included). Its hard negatives come from the same structure and from what the
product's keyword retriever really confuses: the neighbouring articles, the best passage of the 시행령/법률 sibling,
the best passage of another statute, and the best passage once the question's whole family is left out (exactly an
out-of-corpus question). Deterministic for a seed; `python scripts/make_judge_data.py DOCS --sample 20` prints
examples a person can read."""
from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ingest import Chunk, load_documents

from ..index.keyword import BM25Index, KoreanTokenizer
from .answer import FIGURE, figure_text
from .candidates import family_of_title
from .evidence import ARTICLE_BASE, MARKER

STATUTE_TYPES = ("law", "rule", "ordinance")
DEFINITION = re.compile(r"[\"“‘']([^\"”’']{2,30})[\"”’']\s*(?:이)?란\s")
# the question word for a figure, by its unit
ASK_BY_UNIT = ((re.compile(r"100분의|분의|퍼센트|%"), "얼마"), (re.compile(r"일"), "며칠"),
               (re.compile(r"개월"), "몇 개월"), (re.compile(r"년"), "몇 년"), (re.compile(r"세"), "몇 세"),
               (re.compile(r"원"), "얼마"), (re.compile(r"명|인"), "몇 명"), (re.compile(r"회|번"), "몇 회"))
TABLE = re.compile(r"[│┼├┤─]")
SENTENCE = re.compile(r"(?<=다\.)\s+")
QUALIFIERS = ("이내", "이상", "이하", "미만", "초과", "까지", "부터", "마다")
ATTACHED = ("까지", "부터", "마다")
PARENTHESES = re.compile(r"\s*\([^()]*\)")
LEAD = re.compile(r"^(?:다만|또한|이 경우)\s*,?\s*")
ENDINGS = ((re.compile(r"하여야\s*한다\.?$"), "해야 하나요?"), (re.compile(r"할\s*수\s*있다\.?$"), "할 수 있나요?"),
           (re.compile(r"한다\.?$"), "하나요?"), (re.compile(r"이다\.?$"), "인가요?"), (re.compile(r"된다\.?$"), "되나요?"))


@dataclass(frozen=True)
class Example:
    question: str
    passage: str  # `Chunk.embed_text`: what the judge will see at answer time
    label: int  # 1: the passage answers the question
    kind: str  # figure | definition
    role: str  # positive | neighbour | sibling | confuser | family_out | same_kind | definition
    source: str
    anchor: str
    group: str  # the question's id: a positive and its negatives share it

    def to_json(self) -> dict:
        return asdict(self)


def as_question(line: str) -> str:
    """A statute's sentence as a person would ask it: parentheticals ("(이하 "법"이라 한다)") and a leading "다만,"
    dropped, the ending turned into a question."""
    line = LEAD.sub("", PARENTHESES.sub("", line)).strip()
    for ending, asked in ENDINGS:
        if ending.search(line):
            return ending.sub(asked, line)
    return line.rstrip(".") + "?"


def figure_questions(chunk: Chunk) -> Iterator[tuple[str, str]]:
    """One question a figure: the sentence that states it, the figure replaced by the question word its unit asks
    with (a date by "언제")."""
    for line in chunk.text.split("\n")[1:]:
        body = MARKER.sub("", line).strip()
        if body.endswith(" …") or TABLE.search(body):
            continue
        for sentence in SENTENCE.split(body):
            if len(sentence) < 25:
                continue  # a bare 호 ("입력자료: 3년") asks nothing without its 항
            m = next(FIGURE.finditer(sentence), None)
            if m is None:
                continue
            figure = figure_text(m)
            date = "월" in figure and "개월" not in figure
            ask = "언제" if date else next((w for unit, w in ASK_BY_UNIT if unit.search(figure)), None)
            if ask is None:
                continue
            qualifier = next((q for q in QUALIFIERS if figure.endswith(q)), "")
            joined = "" if qualifier in ATTACHED or not qualifier else " "
            question = sentence[:m.start()] + ask + joined + qualifier + sentence[m.end():]
            yield as_question(question.strip()), "figure"
            break  # one figure a line: the others would be near copies


def definition_questions(chunk: Chunk) -> Iterator[tuple[str, str]]:
    if "정의" not in (chunk.article_title or ""):
        return
    for m in DEFINITION.finditer(chunk.text):
        yield f"{chunk.title}에서 '{m.group(1)}'이란 무엇을 말하나요?", "definition"


class JudgeData:
    """Examples over one folder of statutes, with a keyword index of all their passages for the negatives."""

    def __init__(self, chunks: list[Chunk], tokenizer: KoreanTokenizer):
        # articles only: every 부칙 asks "언제부터 시행하나요?", which no passage answers better than another's
        self.chunks = [c for c in chunks if c.doc_type in STATUTE_TYPES and ARTICLE_BASE.match(c.anchor)
                       and not c.anchor.startswith("부칙")]
        self.tokenizer = tokenizer
        self.keyword = BM25Index.build([tokenizer.tokenize(c.embed_text) for c in self.chunks])
        self.family = np.array([family_of_title(c.title) for c in self.chunks])
        self.source = np.array([c.source for c in self.chunks])
        self.rows_by_source: dict[str, list[int]] = {}
        for row, c in enumerate(self.chunks):
            self.rows_by_source.setdefault(c.source, []).append(row)

    @classmethod
    def from_folder(cls, folder: Path, tokenizer: KoreanTokenizer, limit: int = 0) -> "JudgeData":
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".md", ".txt"))
        if limit:
            files = files[:limit]
        batch = load_documents(files)
        return cls([c for doc in batch.documents for c in doc.chunks], tokenizer)

    def best(self, question: str, mask: np.ndarray, exclude: set[int]) -> int | None:
        tokens = self.tokenizer.tokenize(question)
        for row, _ in self.keyword.search(tokens, 10, mask):
            if row not in exclude:
                return row
        return None

    def examples(self, seed: int = 0, per_document: int = 20) -> Iterator[Example]:
        """Questions in a seeded order of documents, at most `per_document` from one document."""
        rng = random.Random(seed)
        sources = sorted(self.rows_by_source)
        rng.shuffle(sources)
        for source in sources:
            rows = self.rows_by_source[source]
            made = [(row, q, kind) for row in rows for maker in (figure_questions, definition_questions)
                    for q, kind in maker(self.chunks[row])]
            alike = {kind: {row for row, _, k in made if k == kind} for kind in ("figure", "definition")}
            rng.shuffle(made)
            for row, question, kind in made[:per_document]:
                yield from self.group(row, question, kind, alike)

    def group(self, row: int, question: str, kind: str, alike: dict[str, set[int]]) -> Iterator[Example]:
        """A made question's positive and its hard negatives. Two of them share what a judge could otherwise learn
        from the passage alone: a passage of the same document that states a figure too ("same_kind"), and for a
        figure question the document's 정의 article ("definition"), which is the positive of every definition
        question. Only reading question and passage together tells them apart."""
        chunk = self.chunks[row]
        group = f"{chunk.source}#{chunk.anchor}#{question}"
        base = ARTICLE_BASE.match(chunk.anchor).group(1)
        same_article = {r for r in self.rows_by_source[chunk.source]
                        if ARTICLE_BASE.match(self.chunks[r].anchor).group(1) == base}

        def example(r: int, label: int, role: str) -> Example:
            c = self.chunks[r]
            return Example(question, c.embed_text, label, kind, role, c.source, c.anchor, group)

        yield example(row, 1, "positive")
        rows = self.rows_by_source[chunk.source]
        at = rows.index(row)
        neighbours = rows[max(at - 1, 0):at] + rows[at + 1:at + 2]
        used = set(same_article)
        for r in neighbours:
            if r not in used:
                used.add(r)
                yield example(r, 0, "neighbour")
        own = self.family == self.family[row]
        sibling = self.best(question, own & (self.source != chunk.source), set())
        if sibling is not None:
            yield example(sibling, 0, "sibling")
        other = self.best(question, ~own, set())
        if other is not None:
            yield example(other, 0, "family_out")  # the whole family hidden: an out-of-corpus question
        confuser = self.best(question, self.source == chunk.source, used)
        if confuser is not None:
            used.add(confuser)
            yield example(confuser, 0, "confuser")
        mask = np.zeros(len(self.chunks), dtype=bool)
        mask[list(alike[kind] - used)] = True
        same_kind = self.best(question, mask, set()) if mask.any() else None
        if same_kind is not None:
            used.add(same_kind)
            yield example(same_kind, 0, "same_kind")
        if kind == "figure":
            definition = next((r for r in sorted(alike["definition"]) if r not in used), None)
            if definition is not None:
                yield example(definition, 0, "definition")
