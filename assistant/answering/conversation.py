"""Conversations: each question is read in the light of the turns before it.

A follow-up that does not name its own subject ("신청은 어디서 하나요?", "그 영상은 얼마나 보관하죠?") takes the
subject of the turn before; a question that names a subject of its own starts afresh and is not pulled toward the
old one. What names a subject is read from the corpus itself, with no list of programmes: the words of document
titles and welfare service names that only a few titles share ("기초연금", "장기요양"; not "지원" or "법"). A
question that names none is read both ways, and the reading the answerability model trusts more is taken."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.links import family_title

from ..index.keyword import KoreanTokenizer
from .retrieve import compact_title

GENERIC_TITLE_SHARE = 3  # a title word shared by more documents than one law's family names no subject


@dataclass(frozen=True)
class Context:
    """How a question was read: the subject it is about, and whether that was carried from earlier turns."""

    subject: str
    carried: bool
    query: str  # what retrieval searches for
    documents: tuple[str, ...] = ()  # the documents the previous turn cited, when carried

    def to_json(self) -> dict | None:
        return {"subject": self.subject, "documents": list(self.documents)} if self.carried else None

    @property
    def lead(self) -> str:
        return f"{self.subject}에 대해 이어서 답합니다.\n\n" if self.carried else ""


@dataclass(frozen=True)
class Turn:
    question: str  # personal data already masked
    subject: str
    documents: tuple[str, ...]
    articles: tuple[str, ...]
    refused: bool
    name: str = ""  # what the answer was about: the cited statute's title or welfare service ("" when refused)
    choices: tuple[tuple[str, str], ...] = ()  # outcome "choose": (document name, the question about it) each


@dataclass
class Conversation:
    """The turns so far. Kept by whoever holds the conversation (a chat screen, a kiosk visit, `assistant chat`)."""

    turns: list[Turn] = field(default_factory=list)

    def reset(self) -> None:
        self.turns.clear()

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def add(self, question: str, context: Context, answer) -> None:
        top = answer.citations[0] if answer.citations else None
        # a statute's subject is its family: a follow-up after a 시행령 answer may be answered by the law itself
        name = (top.anchor.split(" > ")[0] if " > " in top.anchor else family_title(top.title)) if top else ""
        choices = tuple((c.title, c.question) for c in answer.candidates)
        self.turns.append(Turn(question, context.subject, tuple(dict.fromkeys(c.source for c in answer.citations)),
                               tuple(dict.fromkeys(f"{c.title} {c.anchor}" for c in answer.citations)),
                               answer.refused, "" if choices else name, choices))

    def picked(self, reply: str, tokenize) -> str | None:
        """After a question back ("어느 조례를 말씀하시나요?"), a reply that only picks one — its number ("2",
        "2번") or its name ("청년 기본 조례요") — is that candidate's question; anything else is a question of its
        own. `tokenize` is the index's tokenizer (particles and endings dropped)."""
        choices = self.last.choices if self.last else ()
        if not choices:
            return None
        number = re.fullmatch(r"\s*(\d+)\s*(?:번째?)?\s*(?:요|이요|것|거|으로|로)?\s*[.!?]?\s*", reply)
        if number:
            n = int(number.group(1))
            return choices[n - 1][1] if 1 <= n <= len(choices) else None
        words = set(tokenize(reply))
        names = [set(tokenize(name)) for name, _ in choices]
        shared = set.intersection(*names)
        fits = [i for i, n in enumerate(names) if (n - shared) & words and len(words - n) <= 1]
        return choices[fits[0]][1] if len(fits) == 1 else None


class SubjectReader:
    """Finds the subject phrases of a question, from the vocabulary of one index generation."""

    def __init__(self, tokenizer: KoreanTokenizer, index):
        self.tokenizer, self.index = tokenizer, index

    def subject_words(self) -> set[str]:
        """Title and service-name words that at most one law's family shares (cached on the index generation)."""
        cached = self.index.subject_words
        if cached is None:
            names = {c.title for c in self.index.chunks}
            names |= {c.anchor.split(" > ")[0] for c in self.index.chunks if c.doc_type == "welfare"}
            counts: dict[str, int] = {}
            for name in names:
                for word in set(self.tokenizer.tokenize(name, compounds=False)):
                    counts[word] = counts.get(word, 0) + 1
            cached = {w for w, n in counts.items() if n <= GENERIC_TITLE_SHARE and not w.endswith("다")}
            self.index.subject_words = cached
        return cached

    def subject(self, question: str) -> str:
        """The question's subject phrases as written ("기초연금", "공영주차장"), or "" when it names none."""
        words = self.subject_words()
        phrases = []
        for phrase, tokens in self.tokenizer.noun_phrases(question):
            if len(phrase) > 1 and any(t in words for t in tokens):
                phrases.append(phrase)
        return " ".join(dict.fromkeys(phrases))

    def read(self, question: str, conversation: Conversation | None, support=lambda query, question: 0.0) -> Context:
        """A question carries what the last turn was about (the statute or welfare service it cited, and its
        subject) when it names no subject of its own and reads at least as well with it: `support(query, question)`
        — how well the chunks found for `query` answer `question` itself — is at least that of the question alone.
        So "판정은 며칠 안에 나오나요?" after a 장기요양 answer carries, while "실업급여는 얼마나 받나요?" or an
        out-of-corpus "전입신고는 며칠 안에?" after a CCTV answer start afresh."""
        subject = self.subject(question)
        last = conversation.last if conversation else None
        fresh = Context(subject or self.fallback(question), False, question)
        if last is None or last.refused or last.choices or (subject and subject not in f"{last.subject} {last.name}"):
            return fresh  # after a refusal or a question back there is no one answered subject to carry
        if self.foreign_names(question, last.documents):
            return fresh
        name = last.name or last.subject
        query = " ".join(dict.fromkeys(x for x in (last.name, last.subject, question) if x))
        carried = Context(name, True, query, last.documents)
        return carried if support(query, question) >= support(question, question) else fresh

    def foreign_names(self, question: str, documents: tuple[str, ...]) -> list[str]:
        """Names in the question (nouns written together, "보훈급여금", "전입신고", or a foreign word) that the
        documents of the last turn never write: the question is about something else, perhaps outside the corpus."""
        texts = [self.index.compact_document(s) for s in documents if s in self.index.rows_by_source]
        if not texts:
            return []
        return [p for p, tokens in self.tokenizer.noun_phrases(question)
                if (len(tokens) > 1 or p.isascii()) and not any(compact_title(p) in t for t in texts)]

    def fallback(self, question: str, keep: int = 2) -> str:
        """A subject for a question that names none of the corpus' titles: its `keep` rarest noun phrases that the
        corpus uses ("행정재산 사용허가 기간은 최대 몇 년인가요?" -> "행정재산 최대"), in the question's order."""
        vocab, idf = self.index.keyword.vocab, self.index.keyword.idf_of
        phrases = [(p, max(idf(t) for t in tokens)) for p, tokens in self.tokenizer.noun_phrases(question)
                   if len(p) > 1 and all(t in vocab for t in tokens)]
        rare = {p for p, _ in sorted(phrases, key=lambda x: -x[1])[:keep]}
        return " ".join(dict.fromkeys(p for p, _ in phrases if p in rare))
