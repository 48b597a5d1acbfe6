"""Several candidates: a question that names no document ("위원회는 몇 명으로 구성되나요?", "이 조례의 목적은?")
which several documents answer about equally well. Answering from whichever ranked first would be a guess, and
refusing would be false (the documents do say); the person is shown each candidate's answer and asked which one
was meant.

Whether the question names a document is read against the tied candidates themselves: a phrase that some of
them use and the others never do ("청년", "경기도지사") names those; phrases they all use ("위원회", "기본계획")
name none. A statute and its own 시행령/시행규칙 are one family, not a choice."""
from __future__ import annotations

import re

from ingest.links import level_of

from ..index.keyword import KoreanTokenizer
from .retrieve import Hit, compact_title

TIE = 0.93  # a document whose best chunk scores within this share of the best answers "about equally well"
MIN_COVERAGE = 0.6  # the first holds most of the question's (idf-weighted) words
COVERAGE_GAP = 0.1  # and every other candidate about as much
MAX_CANDIDATES = 5
# Documents that stand side by side and answer differently: ordinances of one council, service guides, manuals.
# National statutes (법률·시행령·시행규칙) are one legal order citing one another: when two of them say it, the
# ranking's choice is the answer (or its refusal), not a question back.
PARALLEL_TYPES = ("ordinance", "welfare", "manual", "other")
DEMONSTRATIVE = re.compile(r"^\s*(?:이|그|해당)\s*(?:조례|법률|법령|법|규칙|시행령|안내|서비스|제도|규정)\s*(?:의|에서|에|은|는)?\s*")


def name_of(hit: Hit) -> str:
    """What a person calls the document: a welfare service by its name, anything else by its title."""
    chunk = hit.chunk
    return chunk.anchor.split(" > ")[0] if chunk.doc_type == "welfare" and " > " in chunk.anchor else chunk.title


def family_of_title(title: str) -> str:
    """A statute's title without 시행령/시행규칙, compacted: "기초연금법 시행령" -> "기초연금법" (a title, not a file
    name: that is `evaluation.evaluate.family_of_file`)."""
    return level_of(title, "")[0]


class Chooser:
    """Finds the tied documents of a question over one loaded index generation (`SearchIndex`)."""

    def __init__(self, tokenizer: KoreanTokenizer, index):
        self.tokenizer, self.index = tokenizer, index

    def tied(self, question: str, hits: list[Hit]) -> list[Hit]:
        """The best hit of each document that answers about as well as the first — as high in the ranking, holding
        as much of the question, a document of the same kind (two ordinances, two guides; a national law beside a
        local ordinance is not a choice between equals) — when there are two or more and the question names none
        of them; [] otherwise."""
        best: dict[str, Hit] = {}
        for hit in hits:
            best.setdefault(hit.chunk.source, hit)
        docs = list(best.values())
        if len(docs) < 2 or (docs[0].coverage or 0.0) < MIN_COVERAGE or docs[0].score <= 0:
            return []
        top = docs[0]
        if top.chunk.doc_type not in PARALLEL_TYPES:
            return []
        tied, families = [top], {family_of_title(top.chunk.title)}
        for hit in docs[1:]:
            if hit.score < TIE * top.score or abs((hit.coverage or 0.0) - (top.coverage or 0.0)) > COVERAGE_GAP:
                continue
            if hit.chunk.doc_type != top.chunk.doc_type or family_of_title(hit.chunk.title) in families:
                continue
            families.add(family_of_title(hit.chunk.title))
            tied.append(hit)
        if len(tied) < 2 or self.names_one(question, tied):
            return []
        return tied[:MAX_CANDIDATES]

    def names_one(self, question: str, tied: list[Hit]) -> bool:
        """The question names one (or some) of the tied documents: a phrase of it, as written, that some of them
        use and the others never do ("경기도지사는 …" beside 「성남시 청년 기본 조례」; "기본계획" is in both
        ordinances, so it names neither), or the whole name of one and not of the others ("장애인 활동지원은
        어떻게 …" names the guide, not 「가온시 장애인 활동 지원 조례」)."""
        texts = [self.index.compact_document(h.chunk.source) for h in tied]
        for phrase, _ in self.tokenizer.noun_phrases(question):
            if len(phrase) < 2:
                continue
            holders = sum(compact_title(phrase) in text for text in texts)
            if 0 < holders < len(texts):
                return True
        words = set(self.tokenizer.tokenize(question, compounds=False))
        whole = [set(self.tokenizer.tokenize(name_of(h), compounds=False)) <= words for h in tied]
        return sum(whole) == 1


def question_for(question: str, hit: Hit) -> str:
    """The same question with the document named: "이 조례의 목적은?" -> "가온시 청년 기본 조례의 목적은?"."""
    rest = DEMONSTRATIVE.sub("", question).strip() or question.strip()
    return f"{name_of(hit)}의 {rest}"
