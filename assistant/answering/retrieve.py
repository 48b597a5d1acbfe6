"""Hybrid retrieval: dense (FAISS) and Korean keyword (Kiwi BM25) rankings fused by reciprocal rank, with exact
article references ("기초연금법 제3조") resolved directly and metadata filters applied inside each search."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest import Chunk
from ingest.links import article_of
from ingest.structure import article_label, line_anchors

from ..index.embed import Embedder
from ..index.keyword import ARTICLE_REF, KoreanTokenizer, answer_patterns, share, statute_words, written_share
from ..index.links import StatuteLinks
from ..index.store import check_manifest, live_generation, read_dense, read_docstore, read_keyword, read_manifest
from ..settings import Settings
from .asked import asked_sections, asks_procedure, in_asked_section, states_asked_procedure
from .memory import article_key
from .ranker import RankingSignals

MODES = ("hybrid", "dense", "keyword")
ADDENDA_WORDS = ("부칙", "경과조치", "적용례", "시행일")


@dataclass(frozen=True)
class Filters:
    doc_types: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    public_only: bool = False  # the citizen kiosk never sees internal documents
    in_force_on: str | None = None  # ISO date: only documents whose effective date is on or before it
    exclude_sources: tuple[str, ...] = ()  # documents hidden from retrieval (evaluation's leave-documents-out)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    row: int
    ranks: dict = field(default_factory=dict, compare=False)
    dense: float | None = None  # cosine similarity to the question
    coverage: float | None = None  # idf-weighted share of the question's words in the chunk
    judge: float | None = None  # the cross-encoder's score (a logit) when one re-scored this hit


def standardised(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


MIDDLE_DOTS = re.compile("[·ㆍ‧•・･]")


def compact_title(text: str) -> str:
    """Titles compared without spaces and with one middle dot: statutes write "이용ㆍ제공" (U+318D), people "이용·제공"."""
    return re.sub(r"\s+", "", MIDDLE_DOTS.sub("ㆍ", text))


class SearchIndex:
    """One loaded, read-only generation of an index folder."""

    def __init__(self, root: Path, embedder: Embedder, threads: int = 2, settings=None, served: Path | None = None):
        """`served`: the generation integrity.serve picked (the facade's one check); a file of it that cannot be
        read raises IndexFileDamaged naming it (the store's readers)."""
        gen = served or live_generation(root)
        self.root, self.generation = root, gen.name
        self.manifest = read_manifest(gen)
        check_manifest(self.manifest, embedder.model_id, embedder.dim, root)
        self.documents, self.chunks = read_docstore(gen)
        self.dense = read_dense(settings, gen, threads)
        self.keyword = read_keyword(gen)
        self.links = StatuteLinks.load(gen, self.documents)
        self.title_words: dict[str, set[str]] = {}  # a title -> its words, filled as titles are read (words_of)
        self.doc_type = np.array([c.doc_type for c in self.chunks])
        self.department = np.array([c.department or "" for c in self.chunks])
        self.audience = np.array([c.audience for c in self.chunks])
        self.effective = np.array([c.effective_date or "" for c in self.chunks])
        self.source = np.array([c.source for c in self.chunks])
        self.addenda = np.array([c.anchor.startswith("부칙") for c in self.chunks])
        self.purpose = np.array([(c.article_title or "").strip() == "목적" for c in self.chunks])
        self.rows_by_title: dict[str, list[int]] = {}
        self.rows_by_article: dict[tuple[str, str], list[int]] = {}  # (source, "제5조") -> its chunks, for links
        rows_by_source: dict[str, list[int]] = {}
        for row, c in enumerate(self.chunks):
            self.rows_by_title.setdefault(compact_title(c.title), []).append(row)
            self.rows_by_article.setdefault((c.source, article_of(c.anchor)), []).append(row)
            rows_by_source.setdefault(c.source, []).append(row)
        self.rows_by_source = {s: np.array(rows, dtype=np.int32) for s, rows in rows_by_source.items()}
        self._compact_documents: dict[str, str] = {}
        self.subject_words: set[str] | None = None  # filled by conversation.SubjectReader on first use

    def words_of(self, title: str, tokenizer: KoreanTokenizer) -> set[str]:
        """A document's or article's title as words, tokenized once per loaded generation (titles repeat across
        questions)."""
        if title not in self.title_words:
            self.title_words[title] = set(tokenizer.tokenize(title, compounds=False))
        return self.title_words[title]

    def delegation_partners(self, row: int) -> set[int]:
        """The rows of the articles that `row`'s article delegates to or carries out (article level)."""
        chunk = self.chunks[row]
        links = self.links.of(chunk.source, article_of(chunk.anchor), ("delegates_to", "implements"))
        return {r for link in links for r in self.rows_linked(link)}

    def rows_linked(self, link) -> list[int]:
        """The rows of the article a link leads to."""
        return self.rows_by_article.get((link.target, article_of(link.target_anchor)), [])

    def compact_document(self, source: str) -> str:
        """A document's whole text without spaces and with one middle dot (see `compact_title`), built on first use."""
        if source not in self._compact_documents:
            self._compact_documents[source] = compact_title(" ".join(
                f"{self.chunks[r].title} {self.chunks[r].text}" for r in self.rows_by_source.get(source, ())))
        return self._compact_documents[source]

    def mask(self, filters: Filters) -> np.ndarray | None:
        mask = np.ones(len(self.chunks), dtype=bool)
        if filters.doc_types:
            mask &= np.isin(self.doc_type, filters.doc_types)
        if filters.departments:
            mask &= np.array([any(d in dep for d in filters.departments) for dep in self.department])
        if filters.public_only:
            mask &= self.audience != "internal"
        if filters.in_force_on:
            mask &= (self.effective == "") | (self.effective <= filters.in_force_on)
        if filters.exclude_sources:
            mask &= ~np.isin(self.source, filters.exclude_sources)
        return None if mask.all() else mask


def fuse(rankings: list[tuple[float, list[tuple[int, float]]]], rrf_k: int, k: int,
         names: tuple[str, ...] = ("dense", "keyword", "article"),
         row_weight=lambda row: 1.0) -> tuple[list[tuple[int, float]], dict[int, dict]]:
    """Weighted reciprocal rank fusion: the top k (row, score) and each row's rank in every list it appears in."""
    fused: dict[int, float] = {}
    ranks: dict[int, dict] = {}
    for (weight, ranking), name in zip(rankings, names):
        for rank, (row, _) in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + weight / (rrf_k + rank + 1)
            ranks.setdefault(row, {})[name] = rank + 1
    return sorted(((row, score * row_weight(row)) for row, score in fused.items()), key=lambda x: -x[1])[:k], ranks


@dataclass(frozen=True)
class Candidates:
    """What one retrieval found and read: the candidates (row, score) in order, each row's place in every list,
    its cosine and coverage, whether several lists were fused, the learned ranker's features (one line per row of
    `read`, the first `ranker_depth` rows in the hand-set order; None when not read) and the question's vector."""

    best: list[tuple[int, float]]
    ranks: dict
    cosine: dict
    coverage: dict
    fused: bool
    read: tuple[int, ...] = ()
    features: np.ndarray | None = None
    query_vector: np.ndarray | None = None


class Retriever:
    def __init__(self, index: SearchIndex, embedder: Embedder, tokenizer: KoreanTokenizer, settings: Settings,
                 reranker=None, ranker=None, memory=None):
        """`ranker`: a RankerModel correcting the hand-set order (ranker.py), None: the hand-set `rerank_*` sum;
        `memory`: the organisation's labelled questions it reads (memory.py), installed with it by `tune`."""
        self.index, self.embedder, self.tokenizer, self.settings = index, embedder, tokenizer, settings
        self.reranker, self.ranker, self.memory = reranker, ranker, memory

    def search(self, question: str, k: int | None = None, mode: str = "hybrid",
               filters: Filters = Filters()) -> list[Hit]:
        k = k or self.settings.top_k
        found = self.candidates(question, k, mode, filters)
        best, ranks = found.best, found.ranks
        judged: dict[int, float] = {}
        if self.reranker is not None and found.fused:
            best = self.cross_encode(question, best, ranks, judged)
        return [Hit(self.index.chunks[r], s, r, ranks[r], found.cosine[r], found.coverage[r], judged.get(r))
                for r, s in best[:k]]

    def candidates(self, question: str, k: int, mode: str = "hybrid", filters: Filters = Filters(),
                   read_features: bool = False) -> "Candidates":
        """The fused candidates in their final order (before a cross-encoder), with the signals read on the way;
        the learned ranker's features of the first `ranker_depth` rows are read when a ranker corrects their order
        or `read_features` asks (what `assistant tune` fits on)."""
        n = max(self.settings.candidates, k)
        mask = self.index.mask(filters)
        background = self.background(question)
        weight = self.settings.background_weight
        row_weight = lambda row: weight if background[row] else 1.0  # noqa: E731
        rankings: list[tuple[float, list[tuple[int, float]]]] = []
        dense: dict[int, float] = {}
        query_vector = None
        if mode in ("hybrid", "dense"):
            query_vector = self.embedder.query(question)
            dense_hits = self.index.dense.search(query_vector, n, mask)
            dense = dict(dense_hits)
            rankings.append((self.settings.dense_weight, dense_hits))
        if mode in ("hybrid", "keyword"):
            tokens = self.tokenizer.tokenize(question)
            tokens += self.tokenizer.tokenize(statute_words(tokens))
            rankings.append((self.settings.keyword_weight, self.index.keyword.search(tokens, n, mask)))
        if mode == "hybrid":
            refs = self.article_refs(question, mask)
            if refs:
                rankings.append((2.0, refs))
        fused = len(rankings) > 1
        if not fused:
            best = sorted(((r, s * row_weight(r)) for r, s in rankings[0][1]), key=lambda x: -x[1])[:k]
            ranks = {r: {mode: i + 1} for i, (r, _) in enumerate(best)}
            deeper = []
        else:
            rescored = max(k, self.settings.rerank_depth, self.settings.reranker_depth if self.reranker else 0)
            depth = max(rescored, self.settings.ranker_depth if self.ranker or read_features else 0)
            best, ranks = fuse(rankings, self.settings.rrf_k, depth, row_weight=row_weight)
            # the hand-set steps below see the first `rescored`, as without a ranker; its deeper rows follow them
            best, deeper = best[:rescored], best[rescored:]
        terms = self.index.keyword.question_terms(self.tokenizer, question)
        if mode == "hybrid" and self.settings.link_depth:
            best = self.follow_links(terms, best, ranks, mask)
            self.own_cosines(dense, [r for r, _ in best], query_vector)  # a linked article found by neither list
        rows = [r for r, _ in best]
        present = self.index.keyword.presence(terms, rows)
        cover = self.index.keyword.covered(terms, present)
        if weight < 1.0:
            best = self.restore_background(best, present, background, weight)
        floor = min(dense.values()) if dense else 0.0
        cosine = {r: dense.get(r, floor) if dense else None for r in rows}
        coverage = dict(zip(rows, (float(c) for c in cover)))
        if fused and self.settings.rerank_depth:
            # Rank fusion knows positions, not how well a chunk covers the question: add the idf-weighted share of
            # the question's words the chunk holds and its cosine (cheap: read from postings and stored scores).
            typed = self.answer_type_match(question, terms, rows)
            named = self.title_coverage(terms, rows)
            st = self.settings
            best = sorted(((r, s + st.rerank_coverage * coverage[r] + st.rerank_dense * cosine[r]
                            + st.rerank_answer_type * typed[r] + st.rerank_title * named[r]) for r, s in best),
                          key=lambda x: -x[1])
        else:
            typed = {}
        best = self.asked_section_first(question, best)
        read, features = (), None
        if fused and (self.ranker is not None or read_features):
            recalled = self.recalled(query_vector, mask) if self.memory is not None and query_vector is not None \
                else []
            for place, r in enumerate(recalled, 1):
                ranks.setdefault(r, {}).setdefault("memory", place)
            best = self.below(best, recalled, deeper, terms, cosine, coverage, dense, query_vector)
            top = best[:self.settings.ranker_depth]
            read = tuple(r for r, _ in top)
            remembered = None
            if self.memory is not None and query_vector is not None:
                remembered = self.memory.features(query_vector, self.article_keys(read))
            # the rows reranked above were matched already; the ranker also reads deeper and remembered ones
            typed |= self.answer_type_match(question, terms, [r for r in read if r not in typed])
            features = RankingSignals(self.index, self.tokenizer).read(
                question, terms, top, ranks, cosine, coverage, typed, remembered)
            if self.ranker is not None:  # the learned correction of that order (ranker.py)
                best = self.ranker.reorder(best, features)
        if fused and self.settings.link_tie:
            best = self.delegation_pair_first(best)
        return Candidates(best, ranks, cosine, coverage, fused, read, features, query_vector)

    def article_keys(self, rows) -> list[str]:
        """"source|제N조" of each row (a guide's chunk: its heading path), as labels and the memory name them."""
        return [article_key(self.index.chunks[r].source, article_of(self.index.chunks[r].anchor)) for r in rows]

    def recalled(self, query_vector: np.ndarray, mask: np.ndarray | None) -> list[int]:
        """The rows of the articles labelled as answering questions close to this one (memory.py), filters kept:
        read by the ranker even when retrieval ranks them below its depth; its memory features decide."""
        rows = []
        for key in self.memory.recalled(query_vector):
            source, article = key.split("|", 1)
            rows += [r for r in self.index.rows_by_article.get((source, article), ()) if mask is None or mask[r]]
        return rows

    def below(self, best: list[tuple[int, float]], recalled: list[int], deeper: list[tuple[int, float]],
              terms: dict[str, float], cosine: dict, coverage: dict, dense: dict,
              query_vector=None) -> list[tuple[int, float]]:
        """Rows past the hand-set depth for the ranker, after `best` and scored below its last: those the memory
        recalls, then the deeper fused ones (their fused scores shifted down), each once; their cosine and coverage
        read (into `cosine` and `coverage`)."""
        seen = {r for r, _ in best}
        recalled = [r for r in dict.fromkeys(recalled) if r not in seen]
        deeper = [(r, s) for r, s in deeper if r not in seen and r not in recalled]
        if not best or not (recalled or deeper):
            return best
        last = best[-1][1]
        out = [(r, last - 1e-6 * (i + 1)) for i, r in enumerate(recalled)]
        if deeper:
            floor = out[-1][1] if out else last
            shift = max(0.0, deeper[0][1] - floor) + 1e-9
            out += [(r, s - shift) for r, s in deeper]
        rows = [r for r, _ in out]
        self.own_cosines(dense, recalled, query_vector)  # a recalled row found by neither list
        lowest = min(dense.values()) if dense else None
        cosine.update((r, dense.get(r, lowest) if dense else None) for r in rows)
        coverage.update(zip(rows, (float(c) for c in self.index.keyword.coverage(terms, rows))))
        return best + out

    def own_cosines(self, dense: dict, rows: list[int], query_vector) -> None:
        """The cosine of each row that no dense search returned (a linked article, a labelled passage the memory
        recalls), read into `dense`; nothing when the search was keyword-only."""
        missing = [r for r in rows if r not in dense]
        if dense and missing and query_vector is not None:
            allowed = np.zeros(len(self.index.chunks), dtype=bool)
            allowed[missing] = True
            dense.update(self.index.dense.search(query_vector, len(missing), allowed))

    def cross_encode(self, question: str, best: list[tuple[int, float]], ranks: dict,
                     judged: dict[int, float]) -> list[tuple[int, float]]:
        """The cross-encoder reads the question with each of the top `reranker_depth` passages. Its score and the
        fused score, each standardised within the question, are added with weight `reranker_weight` on its side
        (a large weight: its order). Fused, a cross-encoder corrects the hybrid only as far as it is better; alone,
        a weak one undoes what the hybrid got right (#25). The fused score stays on each hit (the answerability
        model reads it); the cross-encoder's score goes into `judged` and its own place into `ranks` as "reranker"."""
        top = best[:self.settings.reranker_depth]
        scores = self.reranker.scores(question, [self.index.chunks[r].embed_text for r, _ in top])
        for place, i in enumerate(np.argsort(-scores, kind="stable")):
            ranks[top[int(i)][0]]["reranker"] = place + 1
        judged.update((r, float(x)) for (r, _), x in zip(top, scores))
        together = standardised([s for _, s in top]) + self.settings.reranker_weight * standardised(scores)
        order = np.argsort(-together, kind="stable")
        return [top[int(i)] for i in order] + best[len(top):]

    def follow_links(self, terms: dict[str, float], best: list[tuple[int, float]], ranks: dict,
                     mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """A 법률 article whose 항 that best matches the question is filled in by a lower statute ("대통령령으로
        정하는 금액"이란 …, "법 제6조제1항에 따라 …") brings in the indexed article that states it (and that one's, a 시행규칙, in
        turn), just below it; the coverage, cosine and answer-type terms after fusion then decide which of the two
        leads. `ranks[row]["link"]` holds the place of the article it was reached from."""
        scores = dict(best)
        frontier = [(row, score, place) for place, (row, score) in enumerate(best[:self.settings.link_depth], 1)]
        for _ in range(2):  # 법률 -> 시행령 -> 시행규칙
            reached = []
            for row, score, place in frontier:
                for target in self.delegated_rows(self.index.chunks[row], terms):
                    if mask is not None and not mask[target]:
                        continue  # a filtered-out document (kiosk, hold-out, document type) stays out
                    inherited = score * self.settings.link_share
                    if scores.get(target, float("-inf")) < inherited:
                        scores[target] = inherited
                        ranks.setdefault(target, {})["link"] = place
                        reached.append((target, inherited, place))
            frontier = reached
        return sorted(scores.items(), key=lambda x: -x[1])

    def delegated_rows(self, chunk: Chunk, terms: dict[str, float]) -> list[int]:
        """The rows of the articles that fill in the 항 of `chunk` closest to the question: those a 시행령/시행규칙
        names as implementing it ("법 제17조의6제2항에 따라"), lists of delegated powers left out."""
        if not self.index.links.of(chunk.source, article_of(chunk.anchor), ("delegates_to",)):
            return []  # (a piece of a long article is anchored "제3조 제1항~제2항": asked at article level)
        lines = chunk.text.split("\n")[1:]
        anchors = line_anchors(article_of(chunk.anchor), lines)
        fit = [written_share(terms, line) for line in lines]
        best = max(fit, default=0.0)
        if best <= 0:
            return []
        rows: list[int] = []
        for anchor, score in zip(anchors, fit):
            if score < 0.8 * best:
                continue
            for link in self.index.links.of(chunk.source, anchor, ("delegates_to",)):
                if not self.index.links.is_list(link):
                    rows += self.index.rows_linked(link)
        return list(dict.fromkeys(rows))

    def delegation_pair_first(self, best: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """A near tie for the lead (within `link_tie`) goes to the second candidate when it and the third are a law
        article and the lower-statute article that carries it out, and the first is linked to neither: two articles
        of one delegation both matching the question say more about its subject than one article alone. Scores are
        not touched: the first two trade places."""
        if len(best) < 3 or best[0][1] - best[1][1] > self.settings.link_tie:
            return best
        rows = [r for r, _ in best[:3]]
        partners = self.index.delegation_partners
        if rows[2] in partners(rows[1]) and not {rows[1], rows[2]} & partners(rows[0]):
            return [best[1], best[0], *best[2:]]
        return best

    def asked_section_first(self, question: str, best: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Within one welfare service, the chunk of the section the question asks for ("누가" -> 지원 대상) takes the
        place of the service's best chunk: the fused score knows the service, not which of its sections answers.
        Documents keep their order; only a service's own chunks trade places."""
        asked = asked_sections(question)
        if not asked:
            return best
        chunks = self.index.chunks
        service = lambda r: (chunks[r].source, chunks[r].anchor.split(" > ")[0])  # noqa: E731
        top: dict[tuple[str, str], float] = {}
        for r, s in best:
            if chunks[r].doc_type == "welfare":
                top.setdefault(service(r), s)
        lifted = [(r, top[service(r)] + 1e-6) if chunks[r].doc_type == "welfare"
                  and in_asked_section(chunks[r].anchor, asked) else (r, s) for r, s in best]
        return sorted(lifted, key=lambda x: -x[1])

    def background(self, question: str) -> np.ndarray:
        """Rows that frame a statute rather than answer about it: amendment addenda (부칙, a third of a statute) and
        purpose articles (제1조 목적, which restate the whole subject), unless the question asks about them. They are
        down-weighted, not hidden, so a question whose rare words only a transitional provision holds still finds it."""
        out = np.zeros(len(self.index.chunks), dtype=bool)
        if not any(w in question for w in ADDENDA_WORDS):
            out |= self.index.addenda
        if "목적" not in question:
            out |= self.index.purpose
        return out

    def restore_background(self, best: list[tuple[int, float]], present: np.ndarray, background: np.ndarray,
                           weight: float) -> list[tuple[int, float]]:
        """A background row that holds a question word none of the other candidates holds (a transitional provision
        naming a former ordinance or a facility) is what the question is about: its down-weighting is undone."""
        flagged = np.array([bool(background[r]) for r, _ in best])
        if not flagged.any() or not present.size:
            return best
        elsewhere = present[:, ~flagged].any(axis=1)
        only_here = present & ~elsewhere[:, None]
        return sorted(((r, s / weight if flagged[i] and only_here[:, i].any() else s)
                       for i, (r, s) in enumerate(best)), key=lambda x: -x[1])

    def title_coverage(self, terms: dict[str, float], rows: list[int]) -> dict[int, float]:
        """Share of the idf-weighted question words in each chunk's document title: a question that names its law
        or service ("기초생활수급", "아동수당") belongs to that document more than to a neighbour sharing its words."""
        return {r: share(terms, self.index.words_of(self.index.chunks[r].title, self.tokenizer)) for r in rows}

    def answer_type_match(self, question: str, terms: dict[str, float], rows: list[int]) -> dict[int, float]:
        """1 when the question asks for a number of a kind (days, age, period, amount, share, count) and the chunk
        states one, or asks how to apply or which papers and a line of the chunk says who hands what in to whom: of
        two articles on the same subject, the one that states the asked kind is the one that answers. ½ for an article
        that states the number through the lower statute its closest line leaves it to (at 1 it would take the lead
        from the implementing article itself)."""
        wanted = answer_patterns(question)
        if wanted:
            states = lambda r: any(a.search(self.index.chunks[r].text) for a in wanted)  # noqa: E731
            out = {r: float(states(r)) for r in rows}
            # an article whose line closest to the question leaves the figure to a lower statute states it through
            # that statute ("대통령령으로 정하는 연령 이상인 사람" -> "6세 이상인 사람을 말한다"): as one legal order
            for r in rows:
                if not out[r]:
                    out[r] = 0.5 * any(states(t) for t in self.delegated_rows(self.index.chunks[r], terms))
            return out
        if asks_procedure(question):
            # asked how to apply or which papers: a chunk with a line saying who hands what in to whom
            return {r: float(any(states_asked_procedure(question, line)
                                 for line in self.index.chunks[r].text.split("\n")[1:])) for r in rows}
        return dict.fromkeys(rows, 0.0)

    def article_refs(self, question: str, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """'의료급여법 제7조' -> the chunks of that article of the document whose title the question names."""
        refs = [article_label(m) for m in ARTICLE_REF.finditer(question)]
        if not refs:
            return []
        compact = compact_title(question)
        titles = [t for t in self.index.rows_by_title if t and t in compact]
        if not titles:
            return []
        longest = max(len(t) for t in titles)
        out = []
        for title in (t for t in titles if len(t) == longest):
            for row in self.index.rows_by_title[title]:
                anchor = self.index.chunks[row].anchor
                if any(anchor == r or anchor.startswith(r + " ") for r in refs) and (mask is None or mask[row]):
                    out.append((row, 1.0))
        return out
