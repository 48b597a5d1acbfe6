"""Several candidates: a question that names no document ("위원회는 몇 명으로 구성되나요?", "이 조례의 목적은?")
which several documents answer about equally well. Answering from whichever ranked first would be a guess, and
refusing would be false (the documents do say); the person is shown each candidate's answer and asked which one
was meant.

Whether the question names a document is read against the tied candidates themselves: a word of one candidate's
title (or service name) that the others' lack ("청년", "노인복지") names it; words they all share ("가온시",
"조례") name none. A statute and its own 시행령/시행규칙 are one family, not a choice."""
from __future__ import annotations

import re

from ..index.keyword import KoreanTokenizer
from .retrieve import Hit, compact_title

TIE = 0.93  # a document whose best chunk scores within this share of the best answers "about equally well"
MIN_COVERAGE = 0.6  # every candidate holds most of the question's (idf-weighted) words
MAX_CANDIDATES = 5
DEMONSTRATIVE = re.compile(r"^\s*(?:이|그|해당)\s*(?:조례|법률|법령|법|규칙|시행령|안내|서비스|제도|규정)\s*(?:의|에서|에|은|는)?\s*")


def name_of(hit: Hit) -> str:
    """What a person calls the document: a welfare service by its name, anything else by its title."""
    chunk = hit.chunk
    return chunk.anchor.split(" > ")[0] if chunk.doc_type == "welfare" and " > " in chunk.anchor else chunk.title


def family(title: str) -> str:
    return compact_title(re.sub(r"\s*시행\s*(령|규칙)\s*$", "", title))


class Chooser:
    """Finds the tied documents of a question. `naming_words` are the words of titles and service names that few
    documents share (`conversation.SubjectReader.subject_words`): "청년", "장애인" name something, "지원" does not."""

    def __init__(self, tokenizer: KoreanTokenizer, naming_words: set[str]):
        self.tokenizer, self.naming_words = tokenizer, naming_words

    def tied(self, question: str, hits: list[Hit]) -> list[Hit]:
        """The best hit of each document that answers about as well as the first, when there are two or more and
        the question names none of them; [] otherwise."""
        best: dict[str, Hit] = {}
        for hit in hits:
            best.setdefault(hit.chunk.source, hit)
        docs = list(best.values())
        if len(docs) < 2 or (docs[0].coverage or 0.0) < MIN_COVERAGE or docs[0].score <= 0:
            return []
        top = docs[0]
        tied, families = [top], {family(top.chunk.title)}
        for hit in docs[1:]:
            if hit.score < TIE * top.score or (hit.coverage or 0.0) < max(MIN_COVERAGE, (top.coverage or 0.0) - 0.15):
                continue
            if family(hit.chunk.title) in families:
                continue
            families.add(family(hit.chunk.title))
            tied.append(hit)
        if len(tied) < 2 or self.names_one(question, tied):
            return []
        return tied[:MAX_CANDIDATES]

    def names_one(self, question: str, tied: list[Hit]) -> bool:
        """The question names one of the tied documents: a phrase of it with a naming word, as written, is part
        of some of their names and not of the others' ("청년 위원회는 …"; "기본계획" is no part of 「청년 기본
        조례」), or it holds the whole name of one and not of the others ("장애인 활동지원은 어떻게 …" names the
        guide, not 「가온시 장애인 활동 지원 조례」)."""
        names = [compact_title(name_of(h)) for h in tied]
        for phrase, tokens in self.tokenizer.noun_phrases(question):
            if any(t in self.naming_words for t in tokens):
                holders = sum(compact_title(phrase) in name for name in names)
                if 0 < holders < len(names):
                    return True
        words = set(self.tokenizer.tokenize(question, compounds=False))
        whole = [set(self.tokenizer.tokenize(name_of(h), compounds=False)) <= words for h in tied]
        return sum(whole) == 1


def question_for(question: str, hit: Hit) -> str:
    """The same question with the document named: "이 조례의 목적은?" -> "가온시 청년 기본 조례의 목적은?"."""
    rest = DEMONSTRATIVE.sub("", question).strip() or question.strip()
    return f"{name_of(hit)}의 {rest}"
