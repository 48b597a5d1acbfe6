"""Answers along a statute's chain of delegation (DESIGN.md "Statute links").

A 법률 line that leaves the asked detail to a lower statute ("대통령령으로 정하는 금액") does not answer it: the
시행령 article that states the figure follows it, quoted and cited, with the 법률 line kept as its authority
("「여권법」 제5조 ②: … 대통령령으로 정한다 → 「여권법 시행령」 제6조 ② 1. 18세 미만인 사람: 5년"). An answer led by
an implementing article names, in one line, the law article it implements (`authority`). Every citation carries
its links; none leads to a document the question may not see."""
from __future__ import annotations

import dataclasses
import functools
import re

from ingest.links import FILLS_IN, article_of, delegates, level_of, named_levels, paragraph_of
from ingest.structure import article_label

from ..index.keyword import ARTICLE_REF, answer_patterns
from .asked import asks_content
from .evidence import LIST_HEAD, OPENS_LIST, Citation, Evidence, EvidenceSelector
from .retrieve import Filters, Hit, SearchIndex, compact_title

PARTICLE = r"(?:에서|으로|부터|까지|에|로|을|를|이|가|은|는|의|와|과|도|만)"
ASKS_WHICH = re.compile(r"(?:어떤|무슨|어느)\s+((?:\S+\s*){1,3})")  # "어떤 용기에", "무슨 서류를"

MAX_STEPS = 2  # 법률 -> 시행령 -> 시행규칙
LEFT_TO = r"(?:대통령령|총리령|[가-힣]{1,12}부령)(?:으로|이)\s*정하는\s*"  # "대통령령으로 정하는", "…령이 정하는"
# the term a delegating line leaves open: "대통령령으로 정하는 금액", "보건복지부령으로 정하는 보호자의 대리인"
DELEGATED_TERM = re.compile(rf"({LEFT_TO}[가-힣ㆍ ]{{1,30}}?)(?=[(이가을를은는의에,.]|$)")
# "제1항에 따른", "제1항 및 제2항": 항 of the same article (not "법 제4조제1항", whose 항 follows a 조)
SAME_ARTICLE_PARAGRAPH = re.compile(r"(?<![조\d])제(\d+)항")
PROVISO = re.compile(r"제\d+항\s*단서")  # "법 제10조제2항 단서에 따라": the line details an exception
# the figure itself is left: "대통령령으로 정하는 수 이상의 근로자", "보건복지부령으로 정하는 금액"
FIGURE_LEFT = re.compile(LEFT_TO + r"(?:수|금액|액수|비율|기간|기한|연령|나이|횟수|인원|면적|규모|일수)"
                                   r"(?=\s|[을를이가은는의에과와,.)]|$)")
# the subject itself is left: "… 서류 및 제출방법에 관한 사항은 대통령령으로 정하되"
SUBJECT_LEFT = re.compile(r"[은는]\s*(?:[가-힣]{1,15}(?:규칙|령)\s*(?:,|ㆍ|및|또는)\s*)*"
                          r"(?:대통령령|총리령|[가-힣]{1,12}부령)(?:\s*(?:또는|및)\s*[가-힣]{1,12}령)?\s*으로\s*정(?:한다|하되|하며)")


def leaves_term(quote: str) -> bool:
    """The line leaves a term or its whole subject to a lower statute ("대통령령으로 정하는 금액", "신청할 때에 필요한
    서류 … 에 관한 사항은 대통령령으로 정하되"), not only the manner of doing what it states ("대통령령으로 정하는 바에
    따라 30일 이내에 신고"): a figure or kind of thing the line names beside it is not the answer."""
    return bool(SUBJECT_LEFT.search(quote)) or any(not term.rstrip().endswith("바")
                                                   for term in DELEGATED_TERM.findall(quote))


def names_in_compact(anchor: str, line: str, after: str) -> bool:
    """The line, its spaces removed, names `anchor` ("제6조 제1항 제6호" -> "제6조제1항제6호") followed by `after`."""
    return re.search(re.escape(anchor.replace(" ", "")) + after, re.sub(r"\s+", "", line)) is not None


def fills_item(anchor: str, line: str) -> bool:
    """The line lists what the 호 (or 목) `anchor` consists of: "제6조 제1항 제6호" in "법 제6조제1항제6호에 따른
    시위방법은 다음 각 호의 사항을 말한다" (not "제6조제1항제6호의2" nor 가목 of it, not the 항 alone; a line that
    only says who the 호 applies to, "…에 따른 생계지원의 대상은 …으로 한다", lists nothing)."""
    return bool(re.search(r"(?:호|호의\d+|목)$", anchor)) and OPENS_LIST.search(line) is not None \
        and names_in_compact(anchor, line, r"(?!\d|의\d|[가나다라마바사아자차카타파하]목)")


def carries_out_with_list(anchor: str, line: str) -> bool:
    """The line carries out the 항 `anchor` with a list: "법 제17조의6제2항에 따라 다음 각 호의 사항에 대한 의료비
    중 … 지원할 수 있다" for "… 의료비를 추가적으로 지원할 수 있다" (not a 호 of that 항, "제2항제1호")."""
    return anchor.endswith("항") and OPENS_LIST.search(line) is not None \
        and names_in_compact(anchor, line, r"(?!\d|제\d+호)(?:에따라|에서|에의하여|에따른)")


def asked_kinds(question: str) -> list[str]:
    """The kind of thing a question asks which of: the first noun of two syllables or more with a particle in its
    "어떤/무슨/어느" phrase ("어떤 용기에" -> 용기, "무슨 서류를" -> 서류, "어떤 돈 버는 사업을" -> 사업, not the
    verb "버는"), else the word right after it ("어떤 지원 받을 수" -> 지원). One syllable ("정" of "어느 정도") would
    be found in any line."""
    out = []
    for m in ASKS_WHICH.finditer(question):
        words = m.group(1).split()
        nouns = (re.fullmatch(rf"([가-힣]{{2,}}?){PARTICLE}[?.!]?", word) for word in words)
        found = next((noun.group(1) for noun in nouns if noun), None)
        out.append(found or re.sub(rf"(?<=[가-힣]{{2}}){PARTICLE}?[?.!]?$", "", words[0]))
    return [x for x in out if len(x) >= 2]


def names_asked_kind(question: str, text: str) -> bool:
    return any(kind in text for kind in asked_kinds(question))


def lists_asked_kind(question: str, line: str) -> bool:
    """Asked which kind of thing ("어떤 용기에 담아야"), the line lists things of that kind: the asked noun stands in
    the line before its list opens ("용기의 재질은 다음 각 호의 어느 하나에 해당하는 것") or names the list ("다음 각 호의
    수익사업")."""
    opens = OPENS_LIST.search(line)
    return opens is not None and names_asked_kind(question, line[:opens.start()] + " ".join(LIST_HEAD.findall(line)))


class Chain:
    """Follows the links of one loaded generation for an answer's evidence and citations."""

    def __init__(self, index: SearchIndex, selector: EvidenceSelector, filters: Filters = Filters()):
        self.index, self.selector, self.filters = index, selector, filters

    @functools.cached_property
    def mask(self):
        """What the question may see (the kiosk: public documents; eval: not held out); built only when an answer
        has links to check, not for every question."""
        return self.index.mask(self.filters)

    def visible(self, source: str) -> bool:
        rows = self.index.rows_by_source.get(source)
        return self.mask is None or (rows is not None and bool(self.mask[rows].any()))

    def refs(self, citation: Citation) -> tuple:
        return tuple(x for x in self.index.links.refs(citation.source, citation.anchor) if self.visible(x.source))

    def cite(self, citation: Citation) -> Citation:
        """The citation with the indexed articles it links to (those the question may see)."""
        return dataclasses.replace(citation, links=self.refs(citation))

    def extend(self, question: str, evidence: list[Evidence]) -> tuple[list[Evidence], list[Hit]]:
        """The evidence with the line a delegating line leaves the asked detail to (right after it; its 호 are
        EvidenceSelector.with_items'), and the hits those lines come from. Of the quoted lines that delegate, the
        one that covers the question best is followed ("환수금이 대통령령으로 정하는 금액 미만인 경우" before the 이자 of the
        line above it), where it does not state a figure of the asked kind and the detail line covers the question at
        least as well as the line that delegates."""
        if not evidence or ARTICLE_REF.search(question):  # "제32조는 무엇을 정하나요?" asks about that article itself
            return evidence, []
        if any(FILLS_IN.search(e.citation.quote) and self.selector.typed(question, e.citation.quote)
               for e in evidence):
            return evidence, []  # the end of the chain is quoted: "대통령령으로 정하는 금액"이란 3천원을 말한다
        terms = self.selector.question_terms(question)
        best: tuple[float, int, list[tuple[Evidence, Hit]]] | None = None
        for i, e in enumerate(evidence):
            if e.link == "item" and self.lead_states_figure(question, e, evidence):
                continue  # "30일 이내에 신고하여야 한다. … 3. 대통령령으로 정하는 기준에 …": the 호 is a case, not the answer
            steps = self.steps(terms, question, e)
            own = self.line_score(terms, question, e)
            if steps and (best is None or own > best[0]):
                best = (own, i, steps)
        if best is None:
            return self.unquoted_delegation(terms, question, evidence)
        _, i, steps = best
        followed = [dataclasses.replace(step, link="delegates_to") for step, _ in steps]
        end = i + 1
        while end < len(evidence) and evidence[end].citation.is_under(evidence[i].citation):
            end += 1  # after the line's own 호: the detail reads after what it details
        return evidence[:end] + followed + evidence[end:], [hit for _, hit in steps]

    def unquoted_delegation(self, terms: dict[str, float], question: str,
                            evidence: list[Evidence]) -> tuple[list[Evidence], list[Hit]]:
        """Asked for a figure or a procedure that no quoted line states and none leads to: another line of the lead's
        article may leave it to a lower statute ("공연장 등 문화시설의 개선" is quoted; "② … 대통령령으로 정하는 바에
        따라 … 비용의 전부 또는 일부를 … 지원할 수 있다" is not, and 시행령 제6조 ② says where to apply). That line and
        the lower line it leads to that states the asked kind follow the quoted ones."""
        if any(self.selector.typed(question, e.citation.quote) for e in evidence):
            return evidence, []  # the asked kind is quoted
        lead = evidence[0].citation
        quoted = {e.citation.anchor for e in evidence if e.citation.source == lead.source}
        # the line must hold the question as a quoted one might (the selector's 60 % of the best): "확인 절차와 그 밖에
        # 필요한 사항은 … 대통령령으로 정한다" beside "구비서류의 제출을 요구할 수 없으며" is not what was asked
        least = 0.6 * max(self.line_score(terms, question, e) for e in evidence)
        best: tuple[float, Evidence, Hit, tuple[Evidence, Hit]] | None = None
        for hit, pos, anchor, quote in self.article_lines(lead.source, article_of(lead.anchor)):
            fit = self.selector.line_fit(terms, question, quote) if anchor not in quoted and delegates(quote) else -1.0
            if fit >= 0 and (FIGURE_LEFT.search(quote) and answer_patterns(question)
                             or not answer_patterns(question) and self.terms_left_asked(terms, quote)):
                fit += 0.3  # it leaves the figure asked for ("대통령령으로 정하는 수 이상의 근로자"), or the very thing
                # asked which ones of ("대통령령으로 정하는 공공기관" asked "… 공공기관은 어디"): as good as stating it
            if fit < least:
                continue
            c = hit.chunk
            line = Citation(c.source, c.title, anchor, c.page, quote)
            found = self.best_line(terms, question, line, ("delegates_to",), asked_kind=True) \
                or self.says_which_ones(terms, question, line)
            if found is not None and (best is None or found[0].score > best[0]):
                best = (found[0].score, Evidence(line, fit, 0, pos), hit, found)
        if best is None:
            return evidence, []
        _, line, hit, (detail, detail_hit) = best
        return evidence + [line, dataclasses.replace(detail, link="delegates_to")], [hit, detail_hit]

    def says_which_ones(self, terms: dict[str, float], question: str, line: Citation) -> tuple[Evidence, Hit] | None:
        """Asked which ones, not a figure: the lower line that defines the very term the delegating line leaves open
        and the question names ("대통령령으로 정하는 공공기관" asked "… 받아야 하는 공공기관은 어디인가요?" -> "법
        제15조제7항에서 "대통령령으로 정하는 공공기관"이란 다음 각 호의 기관을 말한다"), or that carries the line's 항 out
        (the link: it names the 항) with a list of the kind asked, which the line names too ("… 대통령령으로 정하는 바에
        따라 수익사업을 할 수 있다" asked "어떤 … 사업을" -> "같은 조 제2항에 따라 다음 각 호의 수익사업을 할 수 있다")."""
        if answer_patterns(question):
            return None
        found = self.best_line(terms, question, line, ("delegates_to",))
        if found is None:
            return None
        lower = found[0].citation.quote
        left = self.terms_left_asked(terms, line.quote)
        defined = any(re.search(re.escape(t) + r'["”]\s*(?:이)?란', lower) for t in left)
        listed = lists_asked_kind(question, lower) and names_asked_kind(question, line.quote)
        return found if defined or listed else None

    def terms_left_asked(self, terms: dict[str, float], quote: str) -> list[str]:
        """The terms the line leaves to a lower statute that name a thing the question asks about ("대통령령으로
        정하는 공공기관" for "… 공공기관은 어디인가요?"); not the manner ("… 정하는 바")."""
        return [t.strip() for t in DELEGATED_TERM.findall(quote) if not t.rstrip().endswith("바")
                and set(self.selector.question_terms(re.sub(LEFT_TO, "", t))) & set(terms)]

    def lead_states_figure(self, question: str, item: Evidence, evidence: list[Evidence]) -> bool:
        """The quoted line a 호 stands under states the figure the question asks for."""
        c = item.citation
        return any(x.citation.source == c.source and c.anchor.startswith(x.citation.anchor + " 제")
                   and self.selector.typed(question, x.citation.quote) and not leaves_term(x.citation.quote)
                   for x in evidence)

    def steps(self, terms: dict[str, float], question: str, e: Evidence) -> list[tuple[Evidence, Hit]]:
        """법률 -> 시행령 -> 시행규칙 from one quoted line, as far as each step says more about the question."""
        out: list[tuple[Evidence, Hit]] = []
        step = e
        for _ in range(MAX_STEPS):
            quote = step.citation.quote
            if not delegates(quote):
                # a line that leaves nothing to a lower statute, but which one names as the 항 it carries out ("법
                # 제15조제1항에 따른 선정신청을 받은 경우에는 … 30일 이내에"): followed only for the figure the question
                # asks for and the line lacks — or, when the line states it with an exception ("다만, … 연장하여 집행할
                # 수 있다"), for the bound a lower line puts on that exception ("법 제10조제2항 단서에 따라 … 1일 총
                # 13시간을 초과할 수 없다"); a 호 a lower line fills in by name ("법 제6조제1항제6호에 따른 시위방법은
                # 다음 각 호의 사항을 말한다") is followed to what it consists of; asked what a benefit covers or which
                # kind of thing, a 항 is followed to the lower line that carries it out with a list ("법 제17조의6제2항에
                # 따라 다음 각 호의 사항에 대한 의료비 중 …", "법 제10조제2항에 따라 … 용기의 재질은 다음 각 호의 …")
                states = self.selector.states_figure
                stated = states(question, quote)
                excepted = stated and "다만" in quote
                found = None if stated and not excepted else \
                    self.best_line(terms, question, step.citation, ("delegates_to",))
                own = self.line_score(terms, question, step)
                if found is not None and found[0].score >= own \
                        and self.completes(terms, question, step, found[0], own, stated, excepted):
                    out.append(found)
                break
            typed = self.selector.typed(question, quote)
            if typed and not leaves_term(quote):
                break  # it states the asked figure and leaves only the manner ("바")
            # asked for a figure the line does not state, the lower line that states one is the answer, before one
            # that fits more words ("얼마나 깎아 주나요": "… 100분의 50 감경", not "… 감면받으려는 사람은 다음 각 호의
            # 교육을 받아야"); a line that states it ("60일 이내에 … 다만, 보건복지부령으로 정하는 부득이한 사유로")
            # leaves a term, not the figure
            found = None
            if answer_patterns(question) and not typed:
                found = self.best_line(terms, question, step.citation, ("delegates_to",), asked_kind=True)
            found = found or self.best_line(terms, question, step.citation, ("delegates_to",))
            if found is None or found[0].score < self.line_score(terms, question, step):
                break  # the line the delegation leads to says less about the question than the one delegating
            out.append(found)
            step = found[0]
        return out

    def completes(self, terms: dict[str, float], question: str, step: Evidence, detail: Evidence, own: float,
                  stated: bool, excepted: bool) -> bool:
        """The lower line `detail` says what the quoted line `step`, which delegates nothing, leaves unsaid (see
        `steps`): the figure asked for (or, the line stating it with an exception, the bound on that exception), what
        the 호 it names consists of, or the list that carries out its 항 when asked what it covers or which kind."""
        lower = detail.citation.quote
        if self.selector.states_figure(question, lower) and (not excepted or PROVISO.search(lower)):
            return True
        if stated or own <= 0:
            return False
        anchor = step.citation.anchor
        return fills_item(anchor, lower) and self.line_score(terms, question, detail) >= own \
            or carries_out_with_list(anchor, lower) and (asks_content(question) or lists_asked_kind(question, lower))

    def line_score(self, terms: dict[str, float], question: str, e: Evidence) -> float:
        return self.selector.line_fit(terms, question, e.citation.quote)

    def authority(self, citation: Citation) -> str | None:
        """"「아동수당법」 제4조 제5항": the law article an implementing lead rests on. Of the 항's `implements` links,
        the one its lead line states as its basis ("법 제8조제3항에 따라 …", "법 제4조제5항에서 "…"이란"), not the
        first by name or one a 호 mentions in passing ("5. 법 제7조제3항에 따른 신고를 한 경우")."""
        links = [x for x in self.refs(citation) if x.relation == "implements"]
        if not links:
            return None
        lines = [quote for _, _, anchor, quote in self.article_lines(citation.source, article_of(citation.anchor))
                 if paragraph_of(anchor) == paragraph_of(citation.anchor)]

        def place(link) -> tuple[int, int, int]:
            """(the line that names it, whether as its basis, where in the sentence): the lead line's first basis."""
            line = next((i for i, quote in enumerate(lines) if link.sentence.rstrip("…") in quote), len(lines))
            sentence = re.sub(r"\s+", "", link.sentence)
            reference = re.escape(re.sub(r"\s+", "", link.anchor)) + r"(?!\d|의)"
            basis = re.search(reference + r"[^가-힣]*(?:에따라|에서|에의하여)", sentence)
            named = basis or re.search(reference, sentence)
            # "법 제49조제1항에 따른 생계안정비용은 …": the reference a line opens with is what it fills in
            opens = named is not None and named.start() <= len("법")
            return line, 0 if basis or opens else 1, named.start() if named else len(sentence)

        link = min(links, key=place)
        return f"「{link.title}」 {link.anchor}"

    def links_of(self, citation: Citation, relations: tuple[str, ...]) -> list:
        """The links of the cited 항 and, for "제1항에 따른 … 필요한 사항은 대통령령으로 정한다", of the 항 it names;
        never to a list of delegated powers (it states no detail)."""
        anchors = [citation.anchor]
        if "delegates_to" in relations and delegates(citation.quote):
            article = article_of(citation.anchor)
            anchors += [f"{article} 제{n}항" for n in SAME_ARTICLE_PARAGRAPH.findall(citation.quote)]
        links = [x for a in anchors for x in self.index.links.of(citation.source, a, relations)]
        return [x for x in dict.fromkeys(links) if self.visible(x.target) and (
            x.relation != "delegates_to" or not self.index.links.is_list(x))]

    def best_line(self, terms: dict[str, float], question: str, citation: Citation,
                  relations: tuple[str, ...], asked_kind: bool = False) -> tuple[Evidence, Hit] | None:
        """The line of a linked article (within the 항 the link names) that best covers the question (`asked_kind`:
        of those that state the kind of figure or procedure asked). A detail line is preferred in the statute the
        delegation names (대통령령: the 시행령; ○○부령: the 시행규칙) and where it defines the very term left open
        ("보건복지부령으로 정하는 서류"란)."""
        best: tuple[float, Evidence, Hit] | None = None
        named = named_levels(citation.quote)
        terms_left = set(DELEGATED_TERM.findall(citation.quote))
        for link in self.links_of(citation, relations):
            within = link.target_anchor
            level = level_of(self.index.links.titles.get(link.target, ""), "law")[1]
            lines = self.article_lines(link.target, article_of(within))
            inside = [anchor == within or anchor.startswith(within + " ") for _, _, anchor, _ in lines]
            siblings = self.siblings_named(within, [quote for (*_, quote), held in zip(lines, inside) if held]) \
                if asked_kind else set()
            for (hit, pos, anchor, quote), held in zip(lines, inside):
                if not (held or paragraph_of(anchor) in siblings) \
                        or asked_kind and not self.selector.typed(question, quote):
                    continue
                score = self.selector.line_fit(terms, question, quote)
                score += 0.5 if level in named else 0.0
                score += 0.5 if any(re.search(re.escape(t) + r'[^"”]{0,20}["”]\s*(?:이)?란', quote)
                                    for t in terms_left) else 0.0
                # the sentence that names the delegating 항 is the one that fills it in ("법 제17조의6제2항에
                # 따라 다음 각 호의 …"): its 호 follow it
                score += 1.0 if link.relation == "delegates_to" and link.sentence.rstrip("…") in quote else 0.0
                score -= 0.01 * pos
                if best is None or score > best[0]:
                    c = hit.chunk
                    evidence = Evidence(Citation(c.source, c.title, anchor, c.page, quote), score, 0, pos)
                    best = (score, evidence, hit)
        return (best[1], best[2]) if best else None

    @staticmethod
    def siblings_named(within: str, quotes: list[str]) -> set[str]:
        """The other 항 of the linked article that the linked 항 `within` (its lines: `quotes`) takes a part of the
        detail from ("법 제2조제4호에 따른 재산의 소득환산액은 … 제2항에 따른 재산의 소득환산율을 곱한 금액" -> "② …
        소득환산율은 100분의 4로 한다"): asked for that figure, the sibling states it."""
        article = article_of(within)
        named = {f"{article} 제{n}항" for quote in quotes for n in SAME_ARTICLE_PARAGRAPH.findall(quote)}
        return named - {paragraph_of(within)}

    def article_lines(self, source: str, article: str) -> list[tuple[Hit, int, str, str]]:
        """(hit, position in its chunk, anchor, quote) for each quotable line of an indexed article, in order."""
        out = []
        for row in self.index.rows_by_article.get((source, article), []):
            hit = Hit(self.index.chunks[row], 0.0, int(row))
            out += [(hit, pos, anchor, quote) for pos, (anchor, quote) in enumerate(EvidenceSelector.quotable_lines(hit))]
        return out


RELATION_WORDS = {"implements": "근거(상위 법령)", "delegates_to": "위임(하위 법령)", "cites": "인용", "cited_by": "인용됨"}


def article_view(index: SearchIndex, ref: str) -> dict | None:
    """`assistant article "아동수당법 제4조"`: the article's text, its links, and the linked articles side by side by
    level (법률 · 시행령 · 시행규칙 · 조례, like 국가법령정보센터's 3단비교); None when the index has no such article."""
    m = ARTICLE_REF.search(ref)
    compact = compact_title(ref[:m.start()] if m else ref)
    titles = [t for t in index.rows_by_title if t and t in compact]
    if not m or not titles:
        return None
    rows = [r for r in index.rows_by_title[max(titles, key=len)] if article_of(index.chunks[r].anchor) == article_label(m)]
    if not rows:
        return None
    head = index.chunks[rows[0]]

    def text_of(source: str, article: str) -> str:
        chunks = [index.chunks[r] for r in index.rows_by_article.get((source, article), [])]
        lines = [chunks[0].text.split("\n")[0]] if chunks else []
        for c in chunks:
            lines += [x for x in c.text.split("\n")[1:] if not x.endswith(" …")]
        return "\n".join(lines)

    links = index.links.refs(head.source, article_of(head.anchor))
    columns: dict[str, list[dict]] = {}
    entries = [(head.source, article_of(head.anchor))] + [(x.source, article_of(x.anchor)) for x in links]
    for source, article in dict.fromkeys(entries):
        rows_here = index.rows_by_article.get((source, article), [])
        if not rows_here:
            continue
        chunk = index.chunks[rows_here[0]]
        level = index.links.level(source, chunk.doc_type)
        columns.setdefault(level, []).append({"source": source, "title": chunk.title, "anchor": article,
                                              "text": text_of(source, article)})
    order = ("법률", "시행령", "시행규칙", "조례")
    return {"source": head.source, "title": head.title, "anchor": article_of(head.anchor),
            "level": index.links.level(head.source, head.doc_type), "text": text_of(head.source, article_of(head.anchor)),
            "links": [dataclasses.asdict(x) for x in links],
            "columns": {level: columns[level] for level in order if level in columns}}
