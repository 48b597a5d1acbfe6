"""llama-index integration: our Korean structure parser as a node parser, our hybrid retriever as a `BaseRetriever`,
and the assistant's own checked answer as the response synthesizer. Imported only by those who build on llama-index
(llama-index-core 0.14); nothing here reads or sets llama-index's global `Settings` (its llm and embed_model default
to OpenAI), and no answer goes through an LLM unless the assistant's own `backend` setting says so.

    from llama_index.core import SimpleDirectoryReader
    from assistant import Assistant, Settings
    from assistant.entrypoints.llama_index import KoreanStructureNodeParser, nodes_from_paths, query_engine

    nodes = KoreanStructureNodeParser().get_nodes_from_documents(SimpleDirectoryReader("corpora/").load_data())
    nodes, failures = nodes_from_paths(["corpora/"])          # or straight from disk through our own readers
    engine = query_engine(Assistant(Settings.load(index_dir="index/")), k=5)
    response = engine.query("기초연금은 몇 살부터 받을 수 있나요?")
    print(response)                                            # the same text as `assistant ask`, refusals included
    print([n.metadata["citation"] for n in response.source_nodes])

Node metadata (None values are left out, so any vector store takes them): `title`, `source`, `doc_type`, `anchor`
(`제5조 제2항`, `기초연금 > 지원 대상`), `citation` (`[가온시 노인복지 증진 조례 제5조]`), `article` (조), `paragraph` and
`item` (the 항/호 a piece of a split article stands for), `paragraphs`/`items` (the 항/호 the text contains, ", "-joined),
`section` (a welfare or manual heading path), `article_title`, `page`, `effective_date`, `department`, `audience`,
`chunk_id`, `doc_id`, `content_sha256`. The embedder sees title, anchor and article title above the text (as our own
index does); an LLM also sees the citation, page, effective date and department.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import llama_index.core.instrumentation as instrument
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.node_parser import NodeParser
from llama_index.core.response_synthesizers import BaseSynthesizer
from llama_index.core.schema import (BaseNode, NodeRelationship, NodeWithScore, ObjectType, QueryBundle,
                                     RelatedNodeInfo, TextNode)

from ingest import Chunk, Failure, load_documents
from ingest.pipeline import parse_pages
from ingest.structure import line_anchors
from ingest.types import Page

from ..answering.evidence import ARTICLE_BASE, Citation
from ..answering.retrieve import MODES, Filters, Hit
from ..errors import ConfigError
from ..facade import ASK_MODES, Assistant

log = logging.getLogger(__name__)
dispatcher = instrument.get_dispatcher(__name__)

# what a llama-index Document's metadata may override, as a front-matter block or a sidecar file would
OVERRIDES = ("title", "doc_type", "effective_date", "department", "audience")
SOURCE_KEYS = ("source", "file_path", "file_name")
PAGE_KEYS = ("page", "page_label", "page_number")
EMBED_KEYS = ("title", "anchor", "article_title")  # what our own embedder sees above the text (Chunk.embed_text)
LLM_KEYS = ("title", "citation", "anchor", "article_title", "page", "effective_date", "department")


# ------------------------------------------------------------------ chunk -> node

def structure_of(chunk: Chunk) -> dict[str, str]:
    """조/항/호 of a chunk: from its anchor (what a piece of a split article stands for) and from its lines (what it
    contains); a welfare or manual chunk has a `section` instead."""
    m = ARTICLE_BASE.match(chunk.anchor)
    if not m:
        return {"section": chunk.anchor}
    article = m.group(1)
    out = {"article": article}
    for part in chunk.anchor[m.end():].split():
        if part.endswith("항"):
            out["paragraph"] = part
        elif "호" in part:
            out["item"] = part
    lines = chunk.text.split("\n")[1:]  # the first line is the article heading every piece repeats
    inner = [a[len(article):].strip() for a in line_anchors(article, [x.removesuffix(" …") for x in lines])]
    paragraphs = dict.fromkeys(a.split(" ")[0] for a in inner if a.split(" ")[0].endswith("항"))
    items = dict.fromkeys(a for a in inner if a.endswith("호") or "호의" in a)
    if paragraphs:
        out["paragraphs"] = ", ".join(paragraphs)
    if items:
        out["items"] = ", ".join(items)
    return out


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    meta = {"title": chunk.title, "source": chunk.source, "doc_type": chunk.doc_type, "anchor": chunk.anchor,
            "citation": Citation(chunk.source, chunk.title, chunk.anchor, chunk.page, "").label,
            **structure_of(chunk), "article_title": chunk.article_title, "page": chunk.page,
            "effective_date": chunk.effective_date, "department": chunk.department, "audience": chunk.audience,
            "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "content_sha256": chunk.content_sha256}
    return {k: v for k, v in meta.items() if v is not None}


def chunk_node(chunk: Chunk, extra: dict[str, Any] | None = None) -> TextNode:
    """A `TextNode` with the chunk's text and structure; its id is the chunk id, the same in the parser and in
    retrieval for the same source path."""
    metadata = {**chunk_metadata(chunk), **(extra or {})}
    return TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=metadata,
                    excluded_embed_metadata_keys=[k for k in metadata if k not in EMBED_KEYS],
                    excluded_llm_metadata_keys=[k for k in metadata if k not in LLM_KEYS])


def link(nodes: list[TextNode]) -> list[TextNode]:
    """PREVIOUS/NEXT between consecutive nodes of the same document."""
    for before, after in zip(nodes, nodes[1:]):
        if before.ref_doc_id and before.ref_doc_id == after.ref_doc_id:
            before.relationships[NodeRelationship.NEXT] = after.as_related_node_info()
            after.relationships[NodeRelationship.PREVIOUS] = before.as_related_node_info()
    return nodes


# ------------------------------------------------------------------ node parser

def _source_of(doc: BaseNode) -> str:
    return next((str(doc.metadata[k]) for k in SOURCE_KEYS if doc.metadata.get(k)), doc.node_id)


def _page_of(doc: BaseNode) -> int | None:
    value = next((doc.metadata[k] for k in PAGE_KEYS if doc.metadata.get(k) is not None), None)
    return int(value) if str(value).strip().isdigit() else None


def _files(documents: Sequence[BaseNode]) -> list[list[BaseNode]]:
    """Documents that are pages of one file (same source, each with a page number, as a PDF reader gives them) are
    parsed together, so an article running across a page break stays one article; any other document alone."""
    groups: list[list[BaseNode]] = []
    for doc in documents:
        last = groups[-1] if groups else None
        if last and _page_of(doc) is not None and _page_of(last[-1]) is not None \
                and _source_of(doc) == _source_of(last[-1]):
            last.append(doc)
        else:
            groups.append([doc])
    return groups


class KoreanStructureNodeParser(NodeParser):
    """Parses llama-index `Document`s with our pipeline (`outline` → `make_chunks`): one node per chunk, never
    crossing a 조 or a welfare service, each carrying 문서/조/항/호, page, effective date and department.

    A Document's metadata may name its `file_path`/`source` (which also decides the document type by folder, as in
    ingestion: `ordinances/…`) and override `title`, `doc_type`, `effective_date`, `department`, `audience`. Node ids
    are our chunk ids; a document without text gives no nodes (logged)."""

    max_chars: int = Field(default=700, gt=0, description="Chunk size in characters (our `chunk_max_chars`).")

    @classmethod
    def class_name(cls) -> str:
        return "KoreanStructureNodeParser"

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for group in _files(nodes):
            out += self._parse_file(group)
        return out

    def _parse_file(self, docs: list[BaseNode]) -> list[TextNode]:
        source = _source_of(docs[0])
        texts = [d.get_content() for d in docs]
        if not any(t.strip() for t in texts):
            log.warning("llama_index.empty_document", extra={"source": source})
            return []
        overrides = {k: str(docs[0].metadata[k]) for k in OVERRIDES if docs[0].metadata.get(k)}
        parsed = parse_pages([Page(_page_of(d), t) for d, t in zip(docs, texts)], source, overrides, self.max_chars)
        by_page = {_page_of(d): d for d in docs}
        nodes = []
        for chunk in parsed.chunks:
            node = chunk_node(chunk)
            parent = by_page.get(chunk.page, docs[0])
            node.relationships[NodeRelationship.SOURCE] = parent.as_related_node_info()
            # the reader's path and page keys are `source` and `page` here; keys it hid from the embedder or the
            # LLM stay hidden when llama-index merges its metadata in
            node.excluded_embed_metadata_keys = _hidden(node.excluded_embed_metadata_keys,
                                                        parent.excluded_embed_metadata_keys, EMBED_KEYS)
            node.excluded_llm_metadata_keys = _hidden(node.excluded_llm_metadata_keys,
                                                      parent.excluded_llm_metadata_keys, LLM_KEYS)
            nodes.append(node)
        return nodes


def _hidden(ours: list[str], readers: list[str], shown: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(ours + [k for k in (*SOURCE_KEYS, *PAGE_KEYS, *readers) if k not in shown]))


class NodesFromPaths(NamedTuple):
    nodes: list[TextNode]
    failures: tuple[Failure, ...]  # each file that could not be read, with a Korean reason


def nodes_from_paths(paths: Iterable[Path | str], max_chars: int = 700,
                     max_bytes: int = 50 * 2**20) -> NodesFromPaths:
    """Files and folders read by our own readers (PDF with pages, HWP/HWPX, DOCX, HTML, CP949 text …) into nodes,
    exactly as `assistant ingest` chunks them; sources are relative to the folder given, as in the index."""
    batch = load_documents([Path(p) for p in paths], max_chars, max_bytes)
    nodes: list[TextNode] = []
    for doc in batch.documents:
        parent = RelatedNodeInfo(node_id=doc.meta.doc_id, node_type=ObjectType.DOCUMENT,
                                 metadata={"title": doc.meta.title, "source": doc.meta.source})
        file_nodes = [chunk_node(c) for c in doc.chunks]
        for node in file_nodes:
            node.relationships[NodeRelationship.SOURCE] = parent
        nodes += link(file_nodes)
    for failure in batch.failures:
        log.warning("llama_index.file_failed", extra={"source": failure.source, "reason": failure.error})
    return NodesFromPaths(nodes, batch.failures)


# ------------------------------------------------------------------ retriever

def hit_node(hit: Hit) -> NodeWithScore:
    """A retrieved chunk as a scored node; how each retriever ranked it is kept in (hidden) metadata."""
    extra = {"dense_score": hit.dense, "coverage": hit.coverage,
             **{f"rank_{name}": rank for name, rank in (hit.ranks or {}).items()}}
    node = chunk_node(hit.chunk, {k: v for k, v in extra.items() if v is not None})
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(
        node_id=hit.chunk.doc_id, node_type=ObjectType.DOCUMENT,
        metadata={"title": hit.chunk.title, "source": hit.chunk.source})
    return NodeWithScore(node=node, score=float(hit.score))


def _check_assistant(assistant: Any, who: str) -> Assistant:
    if not isinstance(assistant, Assistant):
        raise ConfigError(f"{who}에는 Assistant(Settings.load(...))를 넘겨 주세요 (받은 값: {type(assistant).__name__}).")
    return assistant


class AssistantRetriever(BaseRetriever):
    """Our hybrid retrieval (FAISS + Kiwi BM25, article references, metadata filters) as a llama-index retriever.

    `mode` is hybrid, dense or keyword; `k` defaults to the assistant's `top_k`. Retrievers made by
    `CitingSynthesizer.retriever()` instead start the assistant's answer, so the question is searched once."""

    def __init__(self, assistant: Assistant, k: int | None = None, mode: str = "hybrid", filters: Filters = Filters(),
                 callback_manager: CallbackManager | None = None, *, _answers: "CitingSynthesizer | None" = None):
        if mode not in MODES:
            raise ConfigError(f"알 수 없는 검색 방식입니다: {mode} ({', '.join(MODES)} 중 하나)")
        self._assistant = _check_assistant(assistant, "AssistantRetriever")
        self._k, self._mode, self._filters, self._answers = k, mode, filters, _answers
        super().__init__(callback_manager=callback_manager or CallbackManager([]))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self._answers is not None:
            return [hit_node(h) for h in self._answers.start(query_bundle.query_str).hits]
        return [hit_node(h) for h in self._assistant.retrieve(query_bundle.query_str, self._k, self._mode,
                                                              self._filters)]


# ------------------------------------------------------------------ synthesizer

class CitingSynthesizer(BaseSynthesizer):
    """The assistant's own answer as a llama-index response: extractive quotes with checked citations (or whatever
    the assistant's `backend` setting gives, checked the same way), a refusal with the responsible department when the
    documents do not support one, audited as `assistant ask` is. The response text equals `Assistant.ask(...).answer`;
    `response.metadata["answer"]` holds its JSON (citations, refused, referral, support).

    `Assistant.ask_stream` takes a question, not retrieved chunks: it searches itself (top_k, hybrid, its filters, the
    kiosk's public-only rule, '개정 전 제5조' from the history). So the retriever paired with this synthesizer
    (`retriever()`, used by `query_engine`) starts that answer and hands its hits on as the nodes: one search per
    question. Nodes from any other retriever are kept as `source_nodes`, but the answer then searches again."""

    def __init__(self, assistant: Assistant, k: int | None = None, ask_mode: str = "staff",
                 filters: Filters = Filters(), streaming: bool = False,
                 callback_manager: CallbackManager | None = None):
        # BaseSynthesizer.__init__ is not called: it resolves llama_index Settings.llm, which defaults to OpenAI
        if ask_mode not in ASK_MODES:
            raise ConfigError(f"알 수 없는 모드입니다: {ask_mode} ({' 또는 '.join(ASK_MODES)})")
        assistant = _check_assistant(assistant, "CitingSynthesizer")
        if k is not None and k != assistant.settings.top_k:
            assistant = assistant.clone(top_k=k)  # ask_stream searches top_k chunks; same models, another setting
        self._assistant, self._ask_mode, self._filters = assistant, ask_mode, filters
        self._llm = None
        self._callback_manager = callback_manager or CallbackManager([])
        self._streaming = streaming
        self._output_cls = None
        self._empty_response = ""
        self._multimodal = False
        self._started: OrderedDict[str, Any] = OrderedDict()  # question -> answer stream begun by our retriever
        self._lock = threading.Lock()

    @property
    def callback_manager(self) -> CallbackManager:
        return self._callback_manager

    @callback_manager.setter
    def callback_manager(self, callback_manager: CallbackManager) -> None:
        self._callback_manager = callback_manager

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts: dict[str, Any]) -> None:
        """No prompts: the answer is composed by the assistant."""

    def retriever(self, callback_manager: CallbackManager | None = None) -> AssistantRetriever:
        """The retriever that searches once for both the nodes and this synthesizer's answer."""
        return AssistantRetriever(self._assistant, None, "hybrid", self._filters,
                                  callback_manager, _answers=self)

    def start(self, question: str):
        """Begin the assistant's answer (its search runs now, its text when `synthesize` reads it); kept for the
        synthesizer under the question, the last 32 at most (a retriever used alone leaves them unread)."""
        stream = self._assistant.ask_stream(question, self._ask_mode, self._filters)
        with self._lock:
            self._started[question] = stream
            while len(self._started) > 32:
                self._started.popitem(last=False)
        return stream

    def _stream_for(self, question: str):
        with self._lock:
            stream = self._started.pop(question, None)
        return stream if stream is not None else self._assistant.ask_stream(question, self._ask_mode, self._filters)

    @dispatcher.span
    def synthesize(self, query, nodes: list[NodeWithScore], additional_source_nodes=None, **response_kwargs: Any):
        question = query.query_str if isinstance(query, QueryBundle) else str(query)
        stream = self._stream_for(question)
        source_nodes = list(nodes) + list(additional_source_nodes or [])
        metadata = {n.node.node_id: n.node.metadata for n in source_nodes}
        if self._streaming:
            return StreamingResponse(response_gen=iter(stream), source_nodes=source_nodes, metadata=metadata)
        for _ in stream:
            pass
        answer = stream.result
        return Response(answer.answer, source_nodes=source_nodes, metadata={**metadata, "answer": answer.to_json()})

    async def asynthesize(self, query, nodes: list[NodeWithScore], additional_source_nodes=None,
                          **response_kwargs: Any):
        return self.synthesize(query, nodes, additional_source_nodes, **response_kwargs)

    def get_response(self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any) -> str:
        """The assistant's answer to `query_str`; the text chunks are not used (it answers from its own search)."""
        return self._assistant.ask(query_str, self._ask_mode, self._filters).answer

    async def aget_response(self, query_str: str, text_chunks: Sequence[str], **response_kwargs: Any) -> str:
        return self.get_response(query_str, text_chunks, **response_kwargs)


def query_engine(assistant: Assistant, k: int | None = None, ask_mode: str = "staff", filters: Filters = Filters(),
                 streaming: bool = False):
    """A `RetrieverQueryEngine` that answers as `assistant ask` does, searching once per question, with no LLM of
    llama-index's (and none at all with the default extractive backend)."""
    from llama_index.core.query_engine import RetrieverQueryEngine

    synthesizer = CitingSynthesizer(assistant, k, ask_mode, filters, streaming)
    return RetrieverQueryEngine(retriever=synthesizer.retriever(), response_synthesizer=synthesizer)
