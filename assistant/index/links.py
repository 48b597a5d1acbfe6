"""Statute links in an index generation: `links.json`, written by each ingest from all its chunks (so a changed
시행령 updates its links, and a removed one takes them away), sealed and checked like every file of the generation,
and read back as a lookup by article for retrieval, answers and `assistant article`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest import Chunk
from ingest.links import FILLS_IN, STATES_BASIS, Link, article_of, extract_links, level_of, paragraph_of

from .integrity import reading

LINKS_FILE = "links.json"
LEVEL_NAMES = {0: "법률", 1: "시행령", 2: "시행규칙", None: "조례"}
MAX_FAN_OUT = 3  # an article implementing more law articles than this is a list (see StatuteLinks.fan_out)


def write_links(generation: Path, chunks: list[Chunk]) -> None:
    (generation / LINKS_FILE).write_text(json.dumps([x.to_json() for x in extract_links(chunks)], ensure_ascii=False),
                                         encoding="utf-8")


@dataclass(frozen=True)
class LinkRef:
    """A linked, indexed article as a citation carries it (DESIGN.md "Statute links")."""

    relation: str
    source: str
    title: str
    anchor: str
    sentence: str


class StatuteLinks:
    """The links of one loaded generation, by the article (and 항) that holds them."""

    def __init__(self, links: list[Link], titles: dict[str, str]):
        self.titles = titles
        self.by_article: dict[tuple[str, str], list[Link]] = {}
        upward: dict[tuple[str, str], set] = {}
        for link in links:
            self.by_article.setdefault((link.source, article_of(link.anchor)), []).append(link)
            if link.relation == "implements":
                upward.setdefault((link.source, article_of(link.anchor)), set()).add((link.target,
                                                                                     article_of(link.target_anchor)))
        # how many law articles an article implements: a list of delegated powers or of the data each task may
        # process (권한의 위임, 고유식별정보의 처리) names dozens, and states none of their details
        self.fan_out = {key: len(targets) for key, targets in upward.items()}

    def is_list(self, link: Link) -> bool:
        """The article `link` leads to is a list of delegated powers, unless the linking sentence opens with the 항 it
        carries out ("법 제34조제5항에 따라 과태료를 감면받으려는 사람은 …", whose 호 name other law articles) or fills
        in the very term left open ('법 제21조제2항에서 "대통령령으로 정하는 사항"이란 다음 각 호의 사항을 말한다')."""
        return self.fan_out.get((link.target, article_of(link.target_anchor)), 0) > MAX_FAN_OUT \
            and not STATES_BASIS.match(link.sentence) and not FILLS_IN.search(link.sentence)

    @classmethod
    def load(cls, generation: Path, documents: list[dict]) -> "StatuteLinks":
        with reading(generation, LINKS_FILE, (OSError, ValueError, TypeError)):  # UnicodeDecodeError is a ValueError
            links = [Link(**row) for row in json.loads((generation / LINKS_FILE).read_text(encoding="utf-8"))]
        return cls(links, {d["source"]: d["title"] for d in documents})

    def __len__(self) -> int:
        return sum(len(x) for x in self.by_article.values())

    def of(self, source: str, anchor: str, relations: tuple[str, ...] = ()) -> list[Link]:
        """Links held by the 항 of `anchor` ("제5조 제2항 제1호" -> those of 제5조 제2항, and of 제5조 itself); an
        article-level anchor gets every 항's."""
        paragraph = paragraph_of(anchor)
        whole = paragraph == article_of(anchor)
        out = [x for x in self.by_article.get((source, article_of(anchor)), ())
               if (whole or x.anchor in (paragraph, article_of(anchor))) and (not relations or x.relation in relations)]
        return list(dict.fromkeys(out))

    def refs(self, source: str, anchor: str) -> tuple[LinkRef, ...]:
        """What a citation of `anchor` carries: each linked article once, upward links first."""
        order = {"implements": 0, "delegates_to": 1, "cites": 2, "cited_by": 3}
        seen, out = set(), []
        for x in sorted(self.of(source, anchor), key=lambda x: order[x.relation]):
            key = (x.relation, x.target, article_of(x.target_anchor))
            if key not in seen:
                seen.add(key)
                out.append(LinkRef(x.relation, x.target, self.titles.get(x.target, x.target), x.target_anchor,
                                   x.sentence))
        return tuple(out)

    def level(self, source: str, doc_type: str) -> str:
        """법률 · 시행령 · 시행규칙 · 조례: where a document stands in its family."""
        return LEVEL_NAMES[level_of(self.titles.get(source, ""), doc_type)[1]]
