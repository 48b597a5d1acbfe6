"""Grounded answers. Evidence is selected from retrieved chunks (항/호 lines with their exact anchors); a backend
turns it into text. The default `extractive` backend states nothing that is not quoted from a source, and when
the sources do not support an answer it refuses and names the responsible department."""
from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

from ingest.links import article_of, paragraph_of

from ..errors import BackendUnavailable
from ..index.keyword import answer_patterns
from ..settings import Settings
from .asked import asked_sections, figure_fits, in_asked_section, section_of
from .candidates import Chooser, name_of, question_for
from .chain import Chain
from .evidence import AMENDMENT_TAG, ARTICLE_BASE, MARKER, Citation, Evidence, EvidenceSelector
from .generate import CitationChecker, LlamaCppBackend, OpenAIBackend, build_messages, sentences
from .retrieve import Hit

REFUSAL = "문서에서 확인할 수 없습니다."
PHONE = re.compile(r"(?:☎\s*)?(?:\d{2,4}-\d{3,4}-\d{4}|\d{3,4}(?:-\d{4})?(?=\)|$|\s))")


@dataclass(frozen=True)
class Candidate:
    """One of several documents that answer a question which names none of them: the client shows it as a choice
    that asks `question` (the same question with the document named) again."""

    source: str
    title: str
    anchor: str
    question: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """One entry of an answer's source list: a citation (its place in `Answer.citations`) and the 호 quoted under it."""

    index: int
    citation: Citation
    items: tuple[str, ...] = ()  # "제2호", "제3호 가목"

    @property
    def label(self) -> str:
        return self.citation.label + (f" {'·'.join(self.items)}" if self.items else "")


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: tuple[Citation, ...]
    refused: bool
    referral: dict | None
    model: str
    timings_ms: dict
    support: float = 0.0  # the answerability model's probability that the quoted text answers the question
    hits: tuple[Hit, ...] = field(default=(), compare=False, repr=False)
    features: tuple[float, ...] = field(default=(), compare=False, repr=False)  # what the answerability model read
    context: dict | None = None  # the subject and documents carried from earlier turns of a conversation
    candidates: tuple[Candidate, ...] = ()  # with outcome "choose": the documents to pick from

    @property
    def outcome(self) -> str:
        """"answer", "choose" (several documents answer a question that names none: pick one) or "refuse"."""
        return "refuse" if self.refused else "choose" if self.candidates else "answer"

    @property
    def sources(self) -> tuple[Source, ...]:
        """The citations as a reader scans them: each 호 or 목 quoted under its cited 항 is folded into it
        ("[기초연금법 시행령 제3조 제1항] 제2호·제3호"), not listed as a source of its own."""
        out: list[Source] = []
        for i, c in enumerate(self.citations):
            head = next((s for s in reversed(out) if c.is_under(s.citation)), None)
            if head is None:
                out.append(Source(i, c))
            else:
                item = c.anchor[len(head.citation.anchor) + 1:]
                out[out.index(head)] = replace(head, items=head.items + (item,))
        return tuple(out)

    def to_json(self) -> dict:
        return {"answer": self.answer, "outcome": self.outcome, "candidates": [c.to_json() for c in self.candidates],
                "citations": [c.to_json() for c in self.citations], "refused": self.refused,
                "referral": self.referral, "model": self.model, "timings_ms": self.timings_ms,
                "support": round(self.support, 3)}


def application_steps(hits: list[Hit], evidence: list[Evidence]) -> list[Evidence]:
    """Kiosk answers end with where and how to apply, from the same service's 신청 방법 field when retrieved."""
    if not evidence or any("신청 방법" in e.citation.anchor for e in evidence):
        return []
    top = evidence[0].citation
    for rank, hit in enumerate(hits):
        if hit.chunk.source != top.source:
            continue
        for pos, (anchor, quote) in enumerate(EvidenceSelector.quotable_lines(hit)):
            if anchor.endswith("> 신청 방법"):
                c = hit.chunk
                return [Evidence(Citation(c.source, c.title, anchor, c.page, quote), 0.0, rank, pos)]
    return []


def contact_of(department: str | None) -> str | None:
    if not department:
        return None
    m = PHONE.search(department)
    return m.group(0).strip() if m else None


# a figure as the documents state it, with its qualifier: "30일 이내", "65세 이상", "100분의 50", "월 20만원"; a date
# keeps its year and month ("5월 1일"), and a range both ends ("5월 1일부터 5월 7일까지"); fractions and counts with
# 천/만 whole ("10분의 3", "1천500퍼센트", "1천명")
_FIGURE = (r"(?:\d+\s*분의\s*\d+|(?:\d{4}\s*년\s*)?(?:\d{1,2}\s*월\s*)?\d[\d,.]*(?:\s*[천만]\s*(?:\d[\d,.]*)?)?\s*"
           r"(?:일|개월|년|세|[십백천]?[만억]?\s*원|명|인|회|번|퍼센트|%))")
FIGURE = re.compile(rf"{_FIGURE}(?:\s*(?:부터|에서)\s*{_FIGURE}\s*까지|\s*(?:이내|이상|이하|미만|초과|까지|부터|마다))?"
                    r"(?P<negated>\s*(?:가|이)\s*(?:되지|지나지|넘지|이르지|달하지)\s*(?:아니한|않은))?")


def figure_text(match: re.Match) -> str:
    """The figure as the line states it; "14세가 되지 아니한" reads as "14세 미만"."""
    if match.group("negated"):
        return match.group(0)[:match.start("negated") - match.start()].strip() + " 미만"
    return match.group(0)


def key_figures(question: str, evidence: list[Evidence], limit: int = 3) -> tuple[list[str], str]:
    """The figures a "며칠/얼마/몇 살" question asks for, as the best-matching quoted line states them (exact
    substrings), and where that line stands. Other lines' figures are left to the quotes: a lead that mixed them
    would read as one answer."""
    wanted = answer_patterns(question)
    if not wanted or not evidence:
        return [], ""
    best = max(evidence, key=lambda e: e.score).citation
    asked = asked_sections(question)
    if asked and section_of(best.anchor) and not in_asked_section(best.anchor, asked):
        return [], ""  # a figure from another section of the guide would answer another question
    found: list[str] = []
    for m in FIGURE.finditer(best.quote):
        figure = figure_text(m)
        if any(a.search(figure) for a in wanted) and figure_fits(question, figure, best.quote) \
                and not any(f.startswith(figure) for f in found):
            found.append(figure)
    return found[:limit], best.where if found else ""


class ExtractiveBackend:
    """Composes the answer from quoted 항/호 text in a fixed template; deterministic, runs everywhere. A question
    asking for a number gets it first ("핵심: 30일 이내"), read from the quotes below it."""

    name = "extractive"
    generative = False

    def compose(self, question: str, evidence: list[Evidence], mode: str, authority: str | None = None) -> Iterator[str]:
        first = evidence[0].citation
        figures, where = key_figures(question, evidence)
        if figures:
            yield f"핵심: {' · '.join(figures)} ({where})\n\n"
        if mode == "kiosk":
            # a line is introduced by the section it stands in ("신청 방법"), which is true of every line under it;
            # an instruction-like lead would also fall on lines that only say what the city does
            yield f"{heading(evidence).where}에 이렇게 안내되어 있어요.\n\n"
            section = section_of(first.anchor)
            for e in evidence:
                if section_of(e.citation.anchor) != section:
                    section = section_of(e.citation.anchor)
                    yield f"\n**{section}**\n\n"
                yield f"- {e.citation.quote} {e.citation.label}\n"
            detail = next((e.citation for e in evidence if e.link == "delegates_to"), None)
            if detail:
                yield f"\n자세한 기준: 「{detail.title}」 {article_of(detail.anchor)}\n"
            return
        yield f"{heading(evidence).where}에 따르면 다음과 같습니다.\n\n"
        lead: Citation | None = None  # the last line quoted at the top level: a 호 under it is listed under it
        for e in evidence:
            under = lead is not None and e.citation.is_under(lead)
            yield chain_line(e, under)
            if not e.link and not under:
                lead = e.citation
        if authority:
            yield f"\n근거 법령: {authority}\n"


def heading(evidence: list[Evidence]) -> Citation:
    """What the answer says it is quoting: the first line's 항 ("제4조 제3항에 따르면"), or its article when the quotes
    that follow come from several 항 of it ("제4조에 따르면": ①, ② and ③ are not all 제1항)."""
    first = evidence[0].citation
    article = article_of(first.anchor)
    paragraphs = {paragraph_of(e.citation.anchor) for e in evidence
                  if e.citation.source == first.source and article_of(e.citation.anchor) == article}
    return replace(first, anchor=article) if len(paragraphs) > 1 and " > " not in first.anchor else first


def chain_line(e: Evidence, under: bool = False) -> str:
    """A quoted line; a detail a delegating line leaves to a lower statute follows it as "→ 「…시행령」 제6조 ②: …",
    with its 호 under it; a 호 is listed under the quoted line it belongs to (`under`)."""
    c = e.citation
    if e.link == "delegates_to":
        return f"  → {c.where}: {c.quote} {c.label}\n"
    if e.link == "item" or under:
        return f"    · {c.quote} {c.label}\n"
    return f"- {c.quote} {c.label}\n"


def make_backend(settings: Settings):
    if settings.backend == "extractive":
        return ExtractiveBackend()
    if settings.backend == "openai":
        return OpenAIBackend(settings.llm_endpoints, settings.llm_model_name)
    if settings.backend == "llama_cpp":
        return LlamaCppBackend(settings.llm_model_path, settings.threads, chat_format=settings.llm_chat_format or None)
    raise BackendUnavailable(f"알 수 없는 답변 방식입니다: '{settings.backend}' (extractive, llama_cpp, openai 중 하나)")


class AnswerStream:
    """Iterate for text pieces (streaming); `result` holds the finished Answer afterwards."""

    def __init__(self, question: str, hits: list[Hit], retrieve_ms: float, started: float, settings: Settings,
                 selector: EvidenceSelector, judge, backend, mode: str, recent_changes=lambda source: [],
                 context=None, on_result=lambda answer: None, chooser: Chooser | None = None,
                 chain: Chain | None = None):
        self.question, self.hits, self.settings, self.mode = question, hits, settings, mode
        self._retrieve_ms, self._started, self._selector, self._backend = retrieve_ms, started, selector, backend
        self._judge = judge
        self._context, self._on_result, self._chooser, self._chain = context, on_result, chooser, chain
        self._query = context.query if context else question  # a follow-up is read with the subject it carries
        self._recent_changes = recent_changes
        self.result: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        evidence = self._selector.select(self._query, self.hits)
        judged = self._judge(self._query, self.hits, [e.citation.quote for e in evidence]) if evidence else None
        support = judged.support if judged else 0.0
        choices = self._choices()
        refused = not choices and (not evidence or support < self.settings.min_support)
        if refused and evidence and self._chain is not None:
            judged = self._judged_along_chain(evidence, judged)
            support = judged.support
            refused = support < self.settings.min_support
        pieces: list[str] = []
        first_token = None
        if self.mode == "kiosk" and not refused and not choices:
            evidence = evidence[:2] + application_steps(self.hits, evidence[:2])
        if self._chain is not None and not refused and not choices:
            # a 호 under a quoted lead-in may be what delegates ("5. 그 밖에 대통령령으로 정하는 비용")
            evidence = self._selector.with_items(self._query, evidence, self.hits)
            evidence, linked = self._chain.extend(self._query, evidence)
            self.hits = list(self.hits) + linked  # the chunks every quote stands in, for whoever checks them
        if not refused and not choices:  # after judging: the list under a quoted line is what it says, not more support
            evidence = self._selector.with_items(self._query, evidence, self.hits)
        self._citations = [e.citation for e in evidence]
        self._model = self._backend.name
        if choices:
            self._citations = [e.citation for _, e in choices]
            self._model = "extractive"
            stream = self._choose(choices)
        elif refused:
            stream = self._refusal()
        elif getattr(self._backend, "generative", False):
            stream = self._generated(evidence)
        else:
            stream = self._backend.compose(self._query, evidence, self.mode, self._authority(evidence))
        if not refused and not choices:
            stream = itertools.chain(stream, self._change_notes(evidence))
        if self._context and self._context.lead:
            stream = itertools.chain([self._context.lead], stream)
        for piece in stream:
            if first_token is None:
                first_token = (time.perf_counter() - self._started) * 1000
            pieces.append(piece)
            yield piece
        total = (time.perf_counter() - self._started) * 1000
        citations = () if refused else tuple(dict.fromkeys(self._citations))
        if self._chain is not None:
            citations = tuple(self._chain.cite(c) for c in citations)
        self.result = Answer(
            question=self.question, answer="".join(pieces).strip(), citations=citations, refused=refused,
            referral=self._referral() if refused else None, model=self._model,
            timings_ms={"retrieve": round(self._retrieve_ms, 1), "first_token": round(first_token or total, 1),
                        "total": round(total, 1)},
            support=support, hits=tuple(self.hits), features=judged.features if judged else (),
            context=self._context.to_json() if self._context else None,
            candidates=tuple(Candidate(h.chunk.source, name_of(h), e.citation.anchor, question_for(self.question, h))
                             for h, e in choices))
        self._on_result(self.result)

    def _judged_along_chain(self, evidence: list[Evidence], judged):
        """A quoted line that leaves the asked thing to a lower statute ("대통령령으로 정하는 용도 및 규모의 건축물")
        lacks it, which the judge reads as not answering: judged again as one legal order, with the lines the
        delegation leads to ("오피스텔로서 100실 이상인 건축물"), where it leads to any."""
        followed, linked = self._chain.extend(self._query, self._selector.with_items(self._query, evidence, self.hits))
        if not linked:
            return judged
        again = self._judge(self._query, self.hits, [e.citation.quote for e in followed], tuple(linked))
        return again if again.support > judged.support else judged

    def _authority(self, evidence: list[Evidence]) -> str | None:
        """The law article an answer led by a 시행령/시행규칙 article rests on, named in one line (staff)."""
        if self._chain is None or self.mode == "kiosk" or any(e.link == "delegates_to" for e in evidence):
            return None
        return self._chain.authority(evidence[0].citation)

    def _choices(self) -> list[tuple[Hit, Evidence]]:
        """Several documents answer a question that names none: each with the line it would be answered from.
        A follow-up that carried its subject named it already."""
        if self._chooser is None or (self._context and self._context.carried):
            return []
        out = []
        for hit in self._chooser.tied(self._query, self.hits):
            evidence = self._selector.select(self._query, [hit], max_quotes=1)
            if evidence:
                out.append((hit, evidence[0]))
        return out if len(out) > 1 else []

    def _choose(self, choices: list[tuple[Hit, Evidence]]) -> Iterator[str]:
        if self.mode == "kiosk":
            yield "여러 안내에 관련 내용이 있어요. 어느 것을 찾으시는지 골라 주세요.\n\n"
        else:
            yield f"이 질문에 답하는 문서가 {len(choices)}개 있습니다. 어느 문서를 말씀하시는지 골라 주세요.\n\n"
        for _, e in choices:
            yield f"- {e.citation.where}: {e.citation.quote} {e.citation.label}\n"

    def _generated(self, evidence: list[Evidence]) -> Iterator[str]:
        """Stream the model's sentences that pass the citation check; with none, fall back to the extractive answer."""
        hits = self.hits[:4]
        checker = CitationChecker(hits, self._selector.tokenizer)
        self._citations = []
        for sentence in sentences(self._backend.stream(build_messages(self._query, hits, self.mode))):
            checked = checker.check(sentence)
            if checked is None:
                continue  # unsupported, uncited or citing what was not retrieved: never shown
            self._citations += list(checked.citations)
            yield f"{checked.text} {' '.join(c.label for c in checked.citations)}\n"
        if not self._citations:
            self._citations = [e.citation for e in evidence]
            self._model = f"{self._backend.name} → extractive"
            yield from ExtractiveBackend().compose(self._query, evidence, self.mode, self._authority(evidence))

    def _change_notes(self, evidence: list[Evidence]) -> Iterator[str]:
        """Say so when a cited article was amended, added or removed by a recent re-ingest."""
        for source in dict.fromkeys(e.citation.source for e in evidence):
            changed = self._recent_changes(source)
            for e in evidence:
                base = ARTICLE_BASE.match(e.citation.anchor)
                key = base.group(1) if base else None
                note = next((c for c in changed if key and c.split(" ")[0] == key), None)
                if e.citation.source == source and note:
                    yield f"\n※ 최근 반영된 개정: {e.citation.title} {note}. 개정 전 내용은 '개정 전 {key}'로 물어보세요.\n"
                    break

    def _referral(self) -> dict:
        top = self.hits[0].chunk if self.hits else None
        # name a document's department only when the top chunk holds most of the question's subject words
        if top and top.department and (self.hits[0].coverage or 0.0) >= 0.5:
            return {"department": top.department, "contact": contact_of(top.department)}
        return {"department": self.settings.default_department, "contact": self.settings.default_contact}

    def _refusal(self) -> Iterator[str]:
        ref = self._referral()
        yield f"{REFUSAL} 제공된 문서에는 이 질문에 답할 근거가 없습니다.\n\n"
        contact = f" ({ref['contact']})" if ref.get("contact") and ref["contact"] not in ref["department"] else ""
        yield f"담당 부서 {ref['department']}{contact}에 문의해 주세요.\n"


PREVIOUS_VERSION = re.compile(r"개정\s*(?:되기\s*)?전|종전|이전\s*(?:버전|조문)|옛\s*조문")


class PreviousVersionStream:
    """'개정 전 제5조': the superseded text kept by re-ingestion, quoted and cited as the prior version."""

    def __init__(self, question: str, record: dict, started: float):
        self.question, self.record, self._started = question, record, started
        self.result: Answer | None = None
        self.hits: list = []

    def __iter__(self) -> Iterator[str]:
        r = self.record
        lines = [x for x in r["text"].split("\n")[1:] if x.strip()] or [r["text"]]
        quote = AMENDMENT_TAG.sub("", MARKER.sub("", lines[0])).strip()
        citation = Citation(r["source"], r["title"], f"{r['anchor']} (개정 전)", None, quote)
        when = r["superseded_at"][:10]
        pieces = [f"「{r['title']}」 {r['anchor']}의 개정 전 내용입니다 ({when} 개정 반영 전). 현재 시행 중인 조문이 "
                  "아닙니다.\n\n"]
        pieces += [f"- {AMENDMENT_TAG.sub('', MARKER.sub('', x)).strip()} {citation.label}\n" for x in lines[:5]]
        for piece in pieces:
            yield piece
        total = (time.perf_counter() - self._started) * 1000
        self.result = Answer(self.question, "".join(pieces).strip(), (citation,), False, None, "history",
                             {"retrieve": round(total, 1), "first_token": round(total, 1), "total": round(total, 1)},
                             1.0)
