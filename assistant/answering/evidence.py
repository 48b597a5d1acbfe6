"""Evidence: the quotable 항/호 lines of retrieved chunks, each with its exact anchor, and the citation that names
it. Shared by the extractive answer and the checks on generated text."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ingest.links import paragraph_of
from ingest.structure import line_anchors, unit_label

from ..index.keyword import BM25Index, KoreanTokenizer, answer_patterns, share
from ..index.links import LinkRef
from .asked import asked_sections, figure_fits, in_asked_section, states_asked_amount, states_asked_procedure
from .retrieve import Hit

# the preference for the section a question asks for: a line of another section answers instead only when it scores
# this much more than the asked section's best (a share of the question's idf-weighted words). On corpora/qa, the
# walkthrough and the public set, an asked section's line that answered trailed another section's by up to .59 (a
# 문의처 line repeating the service's name, which a guide's title does not hold); a line that holds what the question
# asks about outright leads by more
ASKED_SECTION_BONUS = 0.6
ARTICLE_BASE = re.compile(r"^((?:부칙(?:<[^>]*>)?\s)?제\d+조(?:의\d+)?)")
AMENDMENT_TAG = re.compile(r"\s*<(?:개정|신설|전문개정|본조신설|타법개정)[^>]*>\s*$")
MARKER = re.compile(r"^(?:[①-⑳]|\d+(?:의\d+)?\.|[가-하]\.|[-*•·](?=\s))\s*")  # ①, 1., 가., a guide's "- " bullet
INJECTION = re.compile(r"(이전|위의|앞의|모든)\s*(지시|명령|지침)[^.\n]{0,20}(무시|잊)|시스템\s*프롬프트|system\s*prompt|"
                       r"ignore\s+(all\s+)?(previous|prior)\s+instructions|다른\s*(사용자|이용자|사람)[^.\n]{0,10}(질문|대화)",
                       re.IGNORECASE)


# a line whose content is the list under it: "다음 각 호와 같다", "다음 각 호의 어느 하나에 해당하는 사람", "다음과 같다"
OPENS_LIST = re.compile(r"다음\s*각\s*(?:호|목)|다음과\s*같(?:다|습니다)")
OPENS_SUBITEMS = re.compile(r"다음\s*각\s*목")  # a 호 whose list is of 목: "다음 각 목의 어느 하나에 해당하는 경우"
# "다음 각 호의 업무를 수행하기 위하여 … 지정할 수 있다": the list is what the word after "다음 각 호의" names, and is the
# answer only when the question asks for that; "다음 각 호와 같다", "… 어느 하나에 해당하는", "… 구분에 따른 금액",
# "… 사항" make the list the line's content
LIST_HEAD = re.compile(r"다음\s*각\s*(?:호|목)의\s*([가-힣]+)")
CONTENT_HEAD = re.compile(r"^(?:어느|구분|사항|요건|기준|모두|하나|사람|경우|것|자(?:[를가는의]|$))")
# lines that state no rule: a repealed 항/호 ("삭제 <2011.12.30>"), an omission note ("①부터 <34>까지 생략"), an
# amending instruction ("… 일부를 다음과 같이 개정한다", "제2조 중 "A"를 "B"로 한다")
NOT_A_RULE = re.compile(r"^삭제\s*(?:<[^>]*>)?\s*$|생략\s*$|일부(?:를|을)\s*다음과\s*같이\s*개정한다"
                        r"|중\s*[\"“][^\"”]*[\"”]\s*(?:을|를)\s*(?:각각\s*)?[\"“][^\"”]*[\"”]\s*(?:으)?로\s*(?:하고|하며|한다)")
# an addendum that amends other statutes (부칙 제2조(다른 법령의 개정)): none of its lines is this statute's rule
AMENDS_OTHERS = re.compile(r"다른\s*(?:법령|법률|조례|규칙)의\s*개정")
# a 호 that stands for the rest of its list ("5. 그 밖에 대통령령으로 정하는 근로조건에 관한 사항"): it means nothing
# without the 호 before it
CATCH_ALL = re.compile(r"^그\s*밖에|^그\s*밖의")
ARTICLE_PARTS = 5  # the top hits among which the other parts of the best hit's article are quoted with it
WHOLE_LIST = 6  # a quoted list of up to this many 호 is shown whole; a longer one (정의) by the 호 that fit the question


def article_parts(hit: Hit, top: list[Hit]) -> list[Hit]:
    """The hit with the other parts of its article among the top hits, in the article's order: a long article is
    chunked by 항, and "어떻게 신청하나요?" may find ③–⑤ (what the 군수 does with the form) first and ①–② (who hands it
    in, where) just below."""
    article = ARTICLE_BASE.match(hit.chunk.anchor)
    if not article:
        return [hit]
    parts = {h.row: h for h in top if h.chunk.source == hit.chunk.source
             and (m := ARTICLE_BASE.match(h.chunk.anchor)) and m.group(1) == article.group(1)}
    return [parts[row] for row in sorted(parts | {hit.row: hit})]


def looks_like_injection(text: str) -> bool:
    return bool(INJECTION.search(text))


@dataclass(frozen=True)
class Citation:
    source: str
    title: str
    anchor: str
    page: int | None
    quote: str
    links: tuple[LinkRef, ...] = ()  # the indexed articles this one delegates to, implements, cites or is cited by

    def to_json(self) -> dict:
        return asdict(self) | {"links": [asdict(x) for x in self.links]}

    def is_under(self, other: Citation) -> bool:
        """A 호 or 목 of the line `other` cites ("제3조 제1항 제2호" under "제3조 제1항")."""
        return self.source == other.source and self.anchor.startswith(other.anchor + " ")

    @property
    def label(self) -> str:
        """`[기초연금법 제3조 제1항]`; a guide whose title is the service name is not named twice."""
        if self.anchor.startswith(self.title):
            return f"[{self.anchor}]"
        return f"[{self.title} {self.anchor}]"

    @property
    def where(self) -> str:
        """The place in words: 「기초연금법」 제3조 제1항 / 「기초연금」 안내의 '지원 대상'."""
        if " > " in self.anchor:
            return f"「{self.title}」 안내의 ‘{self.anchor.split(' > ')[-1]}’"
        if self.anchor.startswith(self.title):
            return f"「{self.title}」"
        return f"「{self.title}」 {self.anchor}"


@dataclass(frozen=True)
class Evidence:
    citation: Citation
    score: float
    hit_rank: int
    position: int
    # "delegates_to": the detail the line before leaves to this one ("item": one of its 호); "implements": its authority
    link: str = ""


class EvidenceSelector:
    """Splits the top chunks into quotable lines, each with its precise 항/호 anchor, and scores them by how much
    of the question's (idf-weighted) content they contain."""

    def __init__(self, tokenizer: KoreanTokenizer, keyword: BM25Index):
        self.tokenizer, self.keyword = tokenizer, keyword

    def question_terms(self, question: str) -> dict[str, float]:
        return self.keyword.question_terms(self.tokenizer, question)

    def coverage(self, terms: dict[str, float], text: str) -> float:
        return share(terms, set(self.tokenizer.tokenize(text)))

    @staticmethod
    def typed(question: str, quote: str) -> float:
        """0.3 when the line states the kind of figure the question asks for (days, age, amount …), or, asked how to
        apply or which papers, who hands in which form to whom."""
        return 0.3 if EvidenceSelector.states_figure(question, quote) or states_asked_procedure(question, quote) \
            else 0.0

    @staticmethod
    def states_figure(question: str, quote: str) -> bool:
        """The line states a figure of the kind the question asks for ("며칠" -> "30일 이내")."""
        wanted = answer_patterns(question)
        return any(figure_fits(question, m.group(0), quote) for a in wanted for m in a.finditer(quote)) \
            or states_asked_amount(question, quote)

    @staticmethod
    def quotable_lines(hit: Hit) -> list[tuple[str, str]]:
        """(anchor, quote) for each line of a chunk; quotes are exact substrings of the chunk text."""
        return [(anchor, quote) for anchor, _, quote in EvidenceSelector.statements(hit)]

    @staticmethod
    def statements(hit: Hit) -> list[tuple[str, str | None, str]]:
        """(anchor, unit label, quote) for each quotable line of a chunk: the label a line opens with ("제2항",
        "제3호", "가목"; ingest.structure.unit_label) tells a 호 or 목 from a sentence; a 목's anchor is its 호's
        with the label ("제3조 제1호 가목")."""
        chunk = hit.chunk
        lines = chunk.text.split("\n")[1:]  # the first line repeats the article or section heading
        base = ARTICLE_BASE.match(chunk.anchor)
        if base and chunk.doc_type in ("law", "ordinance", "rule"):
            anchors = line_anchors(base.group(1), lines)
        else:
            anchors, current = [], chunk.anchor.split(" > ")[0]
            for line in lines:
                if line.startswith("[") and line.endswith("]"):
                    current = f"{chunk.anchor.split(' > ')[0]} > {line[1:-1]}"
                anchors.append(current if chunk.doc_type == "welfare" else chunk.anchor)
        out = []
        if chunk.article_title and AMENDS_OTHERS.search(chunk.article_title):
            return out
        for anchor, line in zip(anchors, lines):
            if line.endswith(" …") or (line.startswith("[") and line.endswith("]")):
                continue  # a repeated 항 lead or a field heading is context, not a statement
            if looks_like_injection(line):
                continue  # text that tries to instruct the assistant is never repeated as an answer
            quote = AMENDMENT_TAG.sub("", MARKER.sub("", line)).strip()
            label = unit_label(line)
            # a 호 or 목 of a list may be one word ("1. 고양이", "4. 꿩"); other short lines are fragments
            shortest = 1 if label and not label.endswith("항") else 8
            if len(quote) >= shortest and not NOT_A_RULE.search(quote):
                # a 목 is cited as itself ("제3조 제1호 가목"), not as the 호 whose list it stands in
                out.append((f"{anchor} {label}" if label and label.endswith("목") else anchor, label, quote))
        return out

    def items_under(self, lead: Evidence, hit: Hit) -> list[Evidence]:
        """The 호 under a quoted line, each by its first line (its 목 stay in the source pane), in document order;
        under a 호 that opens a list of 목, its 목."""
        c, seen, out = hit.chunk, set(), []
        for pos, (anchor, quote) in enumerate(self.quotable_lines(hit)):
            if anchor.startswith(lead.citation.anchor + " 제") and not anchor.endswith("목") and anchor not in seen:
                seen.add(anchor)
                out.append(Evidence(Citation(c.source, c.title, anchor, c.page, quote), lead.score, lead.hit_rank,
                                    pos, link="item"))
        if not out and OPENS_SUBITEMS.search(lead.citation.quote):
            return self.subitems_under(lead, hit)
        return out

    def subitems_under(self, lead: Evidence, hit: Hit) -> list[Evidence]:
        """The 목 right under a quoted 호 ("… 다만, 다음 각 목의 어느 하나에 해당하는 경우에는 휴지통을 둘 수 있다."), each
        cited as "제7조 제3호 가목"."""
        c, out, inside = hit.chunk, [], False
        for pos, (anchor, label, quote) in enumerate(self.statements(hit)):
            if not inside:
                inside = anchor == lead.citation.anchor and quote == lead.citation.quote
            elif label and label.endswith("목") and anchor == f"{lead.citation.anchor} {label}":
                out.append(Evidence(Citation(c.source, c.title, anchor, c.page, quote), lead.score,
                                    lead.hit_rank, pos, link="item"))
            else:
                break
        return out

    def leads_of(self, item: Evidence, hit: Hit, quoted: list[Evidence]) -> list[Evidence]:
        """The lines that open the list a quoted 호 or 목 belongs to ("… 동물"이란 다음 각 호의 동물을 말한다" for "1.
        고양이"; for a 목, its 호 and the line above that opens the list of 호), outermost first, up to one that is
        quoted itself; none for a 호 that is a sentence of its own."""
        c = item.citation
        if item.link or paragraph_of(c.anchor) == c.anchor or c.quote.endswith(("다.", "다")):
            return []  # not a 호 or 목, or one that is a sentence of its own ("수급자"란 … 말한다.)
        parent = c.anchor.rsplit(" ", 1)[0]
        if any(x.citation.source == c.source and x.citation.anchor == parent for x in quoted):
            return []
        for pos, (anchor, quote) in enumerate(self.quotable_lines(hit)):
            # a 목 always stands under its 호 ("1. 금전 또는 현물 등의 직접지원" over "가. 생계지원: …")
            if anchor == parent and (OPENS_LIST.search(quote) or c.anchor.endswith("목")):
                # scored just below the 호: the figure a question asks for is read from the 호 (key_figures)
                lead = Evidence(Citation(c.source, c.title, anchor, c.page, quote), item.score - 1e-6, item.hit_rank,
                                pos)
                return self.leads_of(lead, hit, quoted) + [lead]
        return []

    def section_bullets(self, e: Evidence, hit: Hit) -> list[Evidence]:
        """The bullets of the guide section a quoted bullet stands in ("[구비 서류]\n- 신청서\n- 신분증 …"), in order;
        [] for a line that is not a bullet of a guide or manual section."""
        c, chunk = e.citation, hit.chunk
        if " > " not in c.anchor or f"\n- {c.quote}" not in f"\n{chunk.text}":
            return []
        return [Evidence(Citation(c.source, c.title, anchor, c.page, quote), e.score, e.hit_rank, pos)
                for pos, (anchor, quote) in enumerate(self.quotable_lines(hit))
                if anchor == c.anchor and f"\n- {quote}" in f"\n{chunk.text}"]

    def with_items(self, question: str, evidence: list[Evidence], hits: list[Hit]) -> list[Evidence]:
        """The evidence with the list under each quoted line (or the detail line a delegation led to) that opens one:
        an answer that stops at "… 다음 각 호와 같다." tells nothing. A short list (up to `WHOLE_LIST` 호) that is the
        line's content or what the question asks for follows whole; otherwise the 호 that fit the question (at most
        three). A list the selector quoted part of is left so unless the question names what it holds ("어떤 비용을"
        of "다음 각 호의 비용을"). A quoted bullet of a guide section brings the section's other bullets, in order, when
        they are few ("[구비 서류]" asked "무슨 서류가 필요해요?")."""
        terms: dict[str, float] | None = None  # read only when a quoted line opens a list
        out: list[Evidence] = []
        listed: set[Citation] = set()  # bullets already in `out` with their whole section
        skip: set[tuple[str, str]] = set()  # 호 already in `out` under their lead
        for e in evidence:
            c = e.citation
            if c in listed or (c.source, c.anchor) in skip:
                continue
            hit = next((h for h in hits if h.chunk.source == c.source and c.quote in h.chunk.text), None)
            bullets = self.section_bullets(e, hit) if hit is not None and not e.link else []
            if 1 < len(bullets) <= WHOLE_LIST:  # "무슨 서류가 필요해요?": the section's list is the answer, whole
                out += [x for x in bullets if x.citation not in listed]
                listed.update(x.citation for x in bullets)
                continue
            # "1. 고양이" says nothing without "… 동물"이란 다음 각 호의 동물을 말한다
            out += self.leads_of(e, hit, evidence + out) if hit is not None else []
            out.append(e)
            if e.link not in ("", "delegates_to") or not OPENS_LIST.search(c.quote):
                continue
            terms = terms if terms is not None else self.question_terms(question)
            quoted = [x for x in evidence if x.citation.source == c.source
                      and x.citation.anchor.startswith(c.anchor + " 제")]
            if quoted and not self.list_is_named(terms, c.quote) \
                    and not any(CATCH_ALL.search(x.citation.quote) for x in quoted):
                continue  # the selector quoted the 호 that answer (a quoted "그 밖에 …" brings the rest of its list)
            items = self.items_under(e, hit) if hit is not None else []
            # a detail line a delegation led to is the content left open; its list is that content
            if len(items) > WHOLE_LIST or (e.link != "delegates_to" and not self.list_is_asked(terms, c.quote)):
                items = [x for x in items if self.line_fit(terms, question, x.citation.quote) > 0][:3]
            out += items
            skip.update((c.source, x.citation.anchor) for x in items)
        return out

    def list_is_named(self, terms: dict[str, float], quote: str) -> bool:
        """The question asks for what the list holds by name ("어떤 비용을 지원하나요?" of "다음 각 호의 비용을")."""
        return any(set(self.tokenizer.tokenize(h)) & set(terms) for h in LIST_HEAD.findall(quote))

    def list_is_asked(self, terms: dict[str, float], quote: str) -> bool:
        """The list is the line's content ("다음 각 호와 같다") or holds what the question asks about ("다음 각 호의
        서류" asked "무슨 서류"), not an aside of a line that states something else."""
        heads = LIST_HEAD.findall(quote)
        return not heads or any(CONTENT_HEAD.match(h) for h in heads) or self.list_is_named(terms, quote)

    def line_fit(self, terms: dict[str, float], question: str, quote: str) -> float:
        """How much of the question a line holds, and whether it states the asked kind of figure."""
        return self.coverage(terms, quote) + self.typed(question, quote)

    def select(self, question: str, hits: list[Hit], max_quotes: int = 3, quote_hits: int = 1) -> list[Evidence]:
        """Quotes come from the best chunk's article only (its other parts among the top hits included): a second
        article is more often a near miss than a help (whether they answer at all is judged on them, by
        `answerability`)."""
        terms = self.question_terms(question)
        candidates: list[Evidence] = []
        for rank, hit in enumerate(hits[:quote_hits]):
            titled = self.coverage(terms, hit.chunk.title)
            # what each line adds to its title (every line shares the title, so counting it would let lines that
            # answer nothing pass the relative threshold below), and whether it states the asked-for figure
            lines = [(part, anchor, quote,
                      self.coverage(terms, f"{hit.chunk.title} {quote}") - titled + self.typed(question, quote))
                     for part in article_parts(hit, hits[:ARTICLE_PARTS]) for anchor, quote in self.quotable_lines(part)]
            # where a long article was cut is no reason to leave its other 항 unread: one of them answers in place of
            # the part retrieved when it holds the question at least as well as that part's best line
            here = max((fit for part, _, _, fit in lines if part is hit), default=0.0)
            lines = [x for x in lines if x[0] is hit or x[3] >= here]
            for pos, (part, anchor, quote, fit) in enumerate(lines):
                c = part.chunk
                candidates.append(Evidence(Citation(c.source, c.title, anchor, c.page, quote),
                                           fit - 0.15 * rank - 0.02 * pos, rank, pos))
        if not candidates:
            return []
        # the section the question's form asks for is preferred, not required: "누가 받나요" is answered by the 지원 대상
        # lines before the phone number beside them, but a line of another section that holds what the question asks
        # about much better still answers (a form read wrongly must not discard the lines that answer)
        asked = asked_sections(question)
        in_section = [e for e in candidates if in_asked_section(e.citation.anchor, asked)]
        beside = max((e.score for e in candidates if not in_asked_section(e.citation.anchor, asked)), default=None)
        if in_section and (beside is None or max(e.score for e in in_section) + ASKED_SECTION_BONUS >= beside):
            candidates = in_section  # the asked section answers: its lines are quoted, not the ones beside them
        candidates.sort(key=lambda e: -e.score)
        best = candidates[0].score
        chosen = [e for e in candidates if e.score >= 0.6 * best][:max_quotes] if best > 0 else candidates[:1]
        chosen.sort(key=lambda e: (e.hit_rank, e.position))
        return chosen
