"""Statute links: the references by which statutes form one legal order (DESIGN.md "Statute links").

A 시행령 article names the 법률 article it fills in ("법 제4조제5항에서 "대통령령으로 정하는 금액"이란", "법 제6조제1항에
따라"), a 시행규칙 article its 시행령 ("영 제4조제2항제3호에서"), an ordinance the law it rests on ("「청년기본법」
제8조에 따라"). These upward references are read from the text; each gives the reverse link too, so the 법률 항 that
delegates ("대통령령으로 정한다") learns which indexed article states the detail. "법" and "영" are read within a family
from titles (the 시행령 of X: 법 = X; its 시행규칙: 영 = X 시행령) or from the document's own "(이하 "법"이라 한다)";
never from a list of laws. A reference to a statute that is not indexed stays text: no link."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .structure import line_anchors
from .types import Chunk

# raised whenever extraction reads links it did not before: an index made by an older one is re-linked by the next
# ingest, though no document changed (2: a delegation named by no lower article, "같은 조 제N항"; 4: a decree article
# that names no law article, matched by its title)
LINKS_VERSION = 4
REVERSE = {"implements": "delegates_to", "cites": "cited_by"}
STATUTE_TYPES = ("law", "rule", "ordinance")
LEVELS = {"법률": 0, "시행령": 1, "시행규칙": 2}
MIDDLE_DOTS = re.compile("[·ㆍ‧•・･]")
ARTICLE = re.compile(r"^((?:부칙(?:<[^>]*>)?\s)?제\d+조(?:의\d+)?)")
# an upward or outward reference: a 「title」 (with its "(이하 …)" alias), or 법/영 as a word, then 제N조
QUALIFIER = re.compile(r"「(?P<title>[^」]{1,80})」(?:\s*\(이하[^)]{0,60}\))?"
                       r"|(?<![가-힣])(?P<this>이\s*|같은\s*)?(?P<word>법|영|시행령|시행규칙)(?=\s*제\d)")
REF = re.compile(r"\s*제(?P<art>\d+)조(?:의(?P<sub>\d+))?(?:\s*제(?P<para>\d+)항)?(?:\s*제\d+호(?:의\d+)?)?(?:\s*[가-하]목)?")
# "법 제4조제5항 및 제6항", "법 제8조부터 제10조까지", "법 제10조ㆍ제11조": the further articles of the same statute
MORE = re.compile(r"\s*(?:및|또는|부터|이나|과|와|,|ㆍ|·)\s*(?=제\d)")
MORE_PARA = re.compile(r"제(?P<para>\d+)항")
SAME_ARTICLE = re.compile(r"같은\s*조\s*제(?P<para>\d+)항")
BARE_ARTICLE = re.compile(r"제\d+조")
ALIAS = re.compile(r"「(?P<title>[^」]{1,80})」\s*\(이하\s*[\"“'‘](?P<alias>[^\"”'’]{1,20})[\"”'’]")
# the 항 leaves a detail to a lower statute or to an ordinance
# "대통령령으로 정한다"; older statutes write "대통령령이 정하는 장소" (187 of the 1,593 training statutes)
DELEGATION = re.compile(r"(?:(?:대통령령|총리령|[가-힣]{1,12}부령|조례|규칙)\s*(?:으로|로)|(?:대통령령|총리령|[가-힣]{1,12}부령)\s*이)"
                        r"\s*(?:정하|정한|정함|따로\s*정)")
QUOTED = re.compile(r"[\"“][^\"”]{0,80}[\"”]")
# a sentence that opens with the article it carries out, as its basis: "법 제34조제5항에 따라 과태료를 감면받으려는
# 사람은 …", "법 제9조제2항의 규정에 의하여 …" (not "1. 법 제26조에 따른 경로우대에 관한 사무", an item of a list)
STATES_BASIS = re.compile(r"\s*(?:법|영|「[^」]{1,80}」)?\s*제\d+조(?:의\d+)?(?:\s*제\d+항)?(?:\s*제\d+호(?:의\d+)?)?"
                          r"\s*(?:에\s*따라|에서|에\s*의하여|의\s*규정에\s*의하여|의\s*규정에\s*따라)")
# a line that fills in a term a higher statute left open: '"대통령령으로 정하는 금액"이란 3천원을 말한다'
FILLS_IN = re.compile(r"[\"“][^\"”]*(?:대통령령|총리령|부령|조례|규칙)(?:으로|이)\s*정하는[^\"”]*[\"”]\s*(?:이)?란")
# a delegated subject is matched to an implementing article's title by shared syllable pairs, these left out
SUBJECT_FILLER = ("등", "및", "관한", "필요한", "사항", "그 밖에", "대한")
SUBJECT_MATCH = 0.6  # share of the title's pairs the delegating sentence must hold


def delegates(text: str) -> bool:
    """The text leaves a detail to a lower statute ("대통령령으로 정한다", "보건복지부령으로 정하는 서류"); the law's words a
    시행령 quotes to define them ("대통령령으로 정하는 금액"이란) do not."""
    return bool(DELEGATION.search(QUOTED.sub("", text)))


@dataclass(frozen=True)
class Link:
    source: str  # the document whose 항 holds the link
    anchor: str  # "제4조 제5항" (or "제4조" for an article without numbered 항)
    relation: str  # delegates_to · implements · cites · cited_by
    target: str  # the linked document (indexed)
    target_anchor: str  # "제2조" or "제2조 제1항" where the text names the 항
    sentence: str  # the sentence that states the reference (in the implementing or citing document)

    def to_json(self) -> dict:
        return {"source": self.source, "anchor": self.anchor, "relation": self.relation, "target": self.target,
                "target_anchor": self.target_anchor, "sentence": self.sentence}


def compact(title: str) -> str:
    return re.sub(r"\s+", "", MIDDLE_DOTS.sub("ㆍ", title))


LOWER_LEVELS = (("시행규칙", 2), ("시행령", 1))  # the title ending that names a law's lower statute, and its level


def level_of(title: str, doc_type: str) -> tuple[str, int | None]:
    """(family, level): "아동수당법 시행령" -> ("아동수당법", 1); an ordinance has no level in a national family."""
    name = compact(title)
    for suffix, level in LOWER_LEVELS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], level
    if doc_type == "ordinance" or name.endswith("조례"):
        return name, None
    return name, 0


def family_title(title: str) -> str:
    """"기초연금법 시행령" -> "기초연금법": the law a 시행령 or 시행규칙 fills in, as the title writes it (spaces kept;
    `level_of` gives the family compacted, for matching)."""
    name = title.strip()
    for suffix, _ in LOWER_LEVELS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)].rstrip()
    return name or title


def article_of(anchor: str) -> str:
    m = ARTICLE.match(anchor)
    return m.group(1) if m else anchor


def paragraph_of(anchor: str) -> str:
    """"제5조 제2항 제3호" -> "제5조 제2항"; "제5조 제3호" -> "제5조"."""
    parts = anchor.split(" ")
    head = [p for p in parts if not p.endswith(("호", "목")) and not re.fullmatch(r"제\d+호의\d+", p)]
    return " ".join(head)


@dataclass(frozen=True)
class Paragraph:
    source: str
    anchor: str  # 항 level
    text: str  # its lines (호 included), joined


def paragraphs(chunks: Iterable[Chunk]) -> list[Paragraph]:
    """The 항 of every statute article, rebuilt from its chunks (a long article is split over several)."""
    texts: dict[tuple[str, str], list[str]] = {}
    for c in chunks:
        if c.doc_type not in STATUTE_TYPES or c.anchor.startswith("부칙") or not ARTICLE.match(c.anchor):
            continue
        lines = c.text.split("\n")[1:]
        for anchor, line in zip(line_anchors(article_of(c.anchor), lines), lines):
            if line.endswith(" …"):
                continue  # the 항 lead a piece repeats for context: already read in the piece before
            texts.setdefault((c.source, paragraph_of(anchor)), []).append(line)
    return [Paragraph(s, a, "\n".join(lines)) for (s, a), lines in texts.items()]


class Resolver:
    """Which indexed document a qualifier names, read from one referring document's title and text."""

    def __init__(self, documents: dict[str, tuple[str, str]]):
        self.by_title = {compact(title): source for source, (title, _) in documents.items()}
        self.family_level: dict[tuple[str, int], str] = {}
        self.documents = documents
        for source, (title, doc_type) in documents.items():
            family, level = level_of(title, doc_type)
            if level is not None:
                self.family_level.setdefault((family, level), source)

    def context(self, source: str, text: str) -> dict[str, str | None]:
        """What "법", "영" (and any "(이하 "X"라 한다)" alias) mean in one document."""
        title, doc_type = self.documents[source]
        family, level = level_of(title, doc_type)
        names: dict[str, str | None] = {}
        if level is not None:
            names["법"] = self.family_level.get((family, 0))
            names["영"] = names["시행령"] = self.family_level.get((family, 1))
            names["시행규칙"] = self.family_level.get((family, 2))
        for m in ALIAS.finditer(text):
            names[m.group("alias").strip()] = self.by_title.get(compact(m.group("title")))
        return names

    def relation(self, source: str, target: str) -> str:
        """implements within a family, upwards; cites otherwise (an ordinance cites its law)."""
        (fs, ls), (ft, lt) = (level_of(*self.documents[d]) for d in (source, target))
        if fs == ft and ls is not None and lt is not None and lt < ls:
            return "implements"
        return "cites"


def references(text: str, own: str, names: dict[str, str | None], resolver: Resolver) -> Iterable[tuple[str, str, int, int]]:
    """(target source, target anchor, start, end) of each reference in one 항 to another indexed document; "같은 조
    제2항" is the 항 of the article referred to last ("법 제11조제1항에 따른 고향사랑기금을 같은 조 제2항 각 호의 목적에")."""
    found = list(all_references(text, own, names, resolver))
    for m in SAME_ARTICLE.finditer(text):
        last = max((r for r in found if r[3] <= m.start()), key=lambda r: r[3], default=None)
        if last and not BARE_ARTICLE.search(text, last[3], m.start()):  # "제5조에 따른 … 같은 조": its own article
            found.append((last[0], f"{article_of(last[1])} 제{m.group('para')}항", m.start(), m.end()))
    return [r for r in found if r[0] and r[0] != own]


def all_references(text: str, own: str, names: dict[str, str | None],
                   resolver: Resolver) -> Iterable[tuple[str | None, str, int, int]]:
    """Every reference of one 항 in text order, its own document's and unresolved ones (target None) included."""
    last: str | None = None
    for q in QUALIFIER.finditer(text):
        if q.group("title"):
            target = resolver.by_title.get(compact(q.group("title")))
        elif (q.group("this") or "").startswith("이"):
            target = own  # "이 법 제3조": the document itself
        elif (q.group("this") or "").startswith("같은"):
            target = last
        else:
            target = names.get(q.group("word"))
        if q.group("title") or target:
            last = target
        pos = q.end()
        m = REF.match(text, pos)
        if not m:
            continue
        article = None
        while m:
            article = f"제{m.group('art')}조" + (f"의{m.group('sub')}" if m.group("sub") else "")
            anchor = article + (f" 제{m.group('para')}항" if m.group("para") else "")
            yield target, anchor, q.start(), m.end()
            pos = m.end()
            more = MORE.match(text, pos)
            if not more:
                break
            if more.group(0).strip() == "부터":  # "제5조부터 제8조까지": the articles between count too
                last_ref = REF.match(text, more.end())
                if last_ref and text.startswith("까지", last_ref.end()):
                    for n in range(int(m.group("art")) + 1, min(int(last_ref.group("art")), int(m.group("art")) + 40)):
                        yield target, f"제{n}조", q.start(), last_ref.end() + 2
            pos = more.end()
            para = MORE_PARA.match(text, pos)
            if para and article and not text.startswith("조", para.end()):
                yield target, f"{article} 제{para.group('para')}항", q.start(), para.end()
                pos = para.end()
                more = MORE.match(text, pos)
                if not more:
                    break
                pos = more.end()
            m = REF.match(text, pos)


def statute_articles(chunks: Iterable[Chunk]) -> int:
    """How many statute articles the chunks hold: the unit extraction's cost is reported per."""
    return len({(c.source, article_of(c.anchor)) for c in chunks if c.doc_type in STATUTE_TYPES})


def sentence_around(text: str, start: int, end: int, limit: int = 160) -> str:
    """The sentence of a 항 that holds a reference, cut to `limit` characters around it."""
    left = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start)) + 1
    right = min(x for x in (text.find("\n", end), text.find(". ", end), len(text)) if x >= 0)
    sentence = re.sub(r"^\s*(?:[①-⑳]|\d+(?:의\d+)?\.|[가-하]\.)\s*", "", text[left:right].strip())
    return sentence if len(sentence) <= limit else sentence[:limit - 1] + "…"


def syllable_pairs(text: str) -> set[str]:
    return {w[i:i + 2] for w in re.findall(r"[가-힣]+", text) for i in range(len(w) - 1)}


FILLER_PAIRS = syllable_pairs(" ".join(SUBJECT_FILLER))


def delegated_subject(text: str) -> tuple[str, str]:
    """What a 항 leaves to a lower statute, and its sentence: the sentence up to the delegation ("제1항의 사회봉사를
    신청할 때에 필요한 서류 및 제출방법에 관한 사항은") and the sentence itself; ("", "") when it delegates nothing."""
    text = QUOTED.sub("", text)
    m = DELEGATION.search(text)
    if not m:
        return "", ""
    start = max(text.rfind("\n", 0, m.start()), text.rfind(". ", 0, m.start())) + 1
    return text[start:m.start()], sentence_around(text, m.start(), m.end())


def subject_fit(subject: str, title: str) -> float:
    """The share of an article title's syllable pairs (filler words out) that a delegated subject holds."""
    pairs = syllable_pairs(title) - FILLER_PAIRS
    return len(pairs & syllable_pairs(subject)) / len(pairs) if pairs else 0.0


def named_levels(text: str) -> set[int]:
    """The levels a delegating text names: 대통령령 -> 1 (시행령); 총리령·○○부령 -> 2 (시행규칙); none for a 조례."""
    return ({1} if "대통령령" in text else set()) | ({2} if re.search(r"총리령|[가-힣]부령", text) else set())


def sibling_delegations(links: set[Link], paras: list[Paragraph], titles: dict[tuple[str, str], str],
                        levels: dict[str, int | None]) -> set[Link]:
    """A 항 that leaves a detail to a lower statute, named by no lower article: "③ 제1항의 사회봉사를 신청할 때에
    필요한 서류 및 제출방법에 관한 사항은 대통령령으로 정하되" — the 시행령 article that states the papers writes "법
    제4조제1항에 따라 사회봉사를 신청하는 사람은 다음 각 호의 서류를" and names ①. Of the articles that implement
    another 항 of the same article, the one whose title the delegated subject holds best (at least `SUBJECT_MATCH`
    of it) is the one it delegates to, in the statute the delegation names ("보건복지부령이 정하는 바에 따라" is never
    carried out by a 시행령 article); both directions are added."""
    down: dict[tuple[str, str], list[Link]] = {}
    for x in links:
        if x.relation == "delegates_to":
            down.setdefault((x.source, article_of(x.anchor)), []).append(x)
    # a 항 some lower article names ("법 제4조제3항에 따라") has its own; one that only a reference to the whole
    # article reached ("법 제4조에 따른 사무") does not
    named = {(x.target, x.target_anchor) for x in links if x.relation == "implements"}
    added: set[Link] = set()
    for p in paras:
        siblings = down.get((p.source, article_of(p.anchor)), ())
        if not siblings or (p.source, p.anchor) in named:
            continue
        subject, sentence = delegated_subject(p.text)
        if not sentence:
            continue  # it delegates nothing
        to = named_levels(sentence)
        siblings = [x for x in siblings if not to or levels.get(x.target) is None or levels[x.target] in to]
        if not siblings:
            continue
        fits = {(x.target, x.target_anchor): subject_fit(subject, titles.get((x.target, article_of(x.target_anchor)), ""))
                for x in siblings}
        best = max(fits.values())
        if best < SUBJECT_MATCH:
            continue
        for (target, anchor), fit in fits.items():
            if fit == best:
                added.add(Link(p.source, p.anchor, "delegates_to", target, anchor, sentence))
                added.add(Link(target, anchor, "implements", p.source, p.anchor, sentence))
    return added


def title_words(title: str) -> list[str]:
    """An article title's words, their particle and filler words left out: "민원문서의 이송 절차 및 방법 등" ->
    ["민원문서", "이송", "절차", "방법"]."""
    words = [w for w in re.findall(r"[가-힣]+", title) if w not in SUBJECT_FILLER]
    return [w[:-1] if len(w) > 2 and w[-1] in "의에" else w for w in words]


def unnamed_articles(links: set[Link], paras: list[Paragraph], titles: dict[tuple[str, str], str],
                     kinds: dict[str, tuple[str, int | None]]) -> set[Link]:
    """A 항 that leaves a detail to the 시행령 or 시행규칙 of its own family, which names no law article in return,
    and an article there that names none at all (older decrees: 「인감증명법 시행령」 제6조 "(인장의 규격) 인감의 증명에
    사용하는 인장의 크기는 …" for 법 제6조 "(인장 규격의 제한) … 도장은 대통령령으로 정하는 바에 따라 규격을 제한할 수
    있다"): linked where the law article's title and delegating sentence hold every word of the lower one's title
    (not "전문위원" for "자문위원") and each is the other's only match. `kinds`: each document's (family, level)."""
    named = {(x.target, x.target_anchor) for x in links if x.relation == "implements"}
    linked_up = {(x.source, article_of(x.anchor)) for x in links if x.relation == "implements"}
    lower: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for source, article in dict.fromkeys((p.source, article_of(p.anchor)) for p in paras):
        family, level = kinds[source]
        # a title of one word ("목적", "정의") or an addendum's says too little to be matched by
        if level in (1, 2) and (source, article) not in linked_up and not article.startswith("부칙") \
                and len(syllable_pairs(titles.get((source, article), "")) - FILLER_PAIRS) >= 2:
            lower.setdefault((family, level), []).append((source, article))
    matches: dict[tuple[str, str], list[tuple[Paragraph, str]]] = {}  # lower article -> the 항 whose title fit it
    for p in paras:
        family, level = kinds[p.source]
        _, sentence = delegated_subject(p.text)
        if level != 0 or not sentence or (p.source, p.anchor) in named:
            continue
        held = re.sub(r"\s+", "", titles.get((p.source, article_of(p.anchor)), "") + sentence)
        winners = [key for to in named_levels(sentence) for key in lower.get((family, to), ())
                   if all(word in held for word in title_words(titles[key]))]
        if len(winners) == 1:
            matches.setdefault(winners[0], []).append((p, sentence))
    added: set[Link] = set()
    for (target, article), found in matches.items():
        if len({article_of(p.anchor) for p, _ in found}) == 1:
            for p, sentence in found:
                added.add(Link(p.source, p.anchor, "delegates_to", target, article, sentence))
                added.add(Link(target, article, "implements", p.source, p.anchor, sentence))
    return added


def extract_links(chunks: list[Chunk]) -> list[Link]:
    """Every link between indexed statute articles, both directions, sorted (the same chunks give the same file)."""
    statutes = [c for c in chunks if c.doc_type in STATUTE_TYPES]
    documents = {c.source: (c.title, c.doc_type) for c in statutes}
    resolver = Resolver(documents)
    paras = paragraphs(statutes)
    by_article: dict[tuple[str, str], list[Paragraph]] = {}
    for p in paras:
        by_article.setdefault((p.source, article_of(p.anchor)), []).append(p)
    whole: dict[str, list[str]] = {}
    for c in statutes:
        whole.setdefault(c.source, []).append(c.text)
    names = {s: resolver.context(s, "\n".join(texts)) for s, texts in whole.items()}
    links: set[Link] = set()
    for p in paras:
        for target, anchor, start, end in references(p.text, p.source, names[p.source], resolver):
            targets = by_article.get((target, article_of(anchor)))
            if not targets:
                continue  # an article the indexed text does not have (deleted, or a typo)
            relation = resolver.relation(p.source, target)
            sentence = sentence_around(p.text, start, end)
            links.add(Link(p.source, p.anchor, relation, target, anchor, sentence))
            # the reverse link sits on the named 항, or on each 항 of the article that delegates
            named = [t for t in targets if t.anchor == anchor] if anchor != article_of(anchor) else []
            delegating = [t for t in targets if delegates(t.text)]
            for t in named or delegating or [min(targets, key=lambda t: len(t.anchor))]:
                back = t.anchor if (named or delegating) else article_of(t.anchor)
                links.add(Link(target, back, REVERSE[relation], p.source, p.anchor, sentence))
    titles = {(c.source, article_of(c.anchor)): (c.article_title or "").strip() for c in statutes}
    kinds = {source: level_of(title, doc_type) for source, (title, doc_type) in documents.items()}
    links |= sibling_delegations(links, paras, titles, {source: level for source, (_, level) in kinds.items()})
    links |= unnamed_articles(links, paras, titles, kinds)
    return sorted(links, key=lambda x: (x.source, x.anchor, x.relation, x.target, x.target_anchor, x.sentence))
