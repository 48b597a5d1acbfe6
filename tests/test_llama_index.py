"""The llama-index integration over the bundled corpus: our node parser, retriever and citing synthesizer inside a
llama-index `RetrieverQueryEngine`, offline, with llama-index's global LLM and embedder never resolved."""
from __future__ import annotations

import asyncio
import re
import socket

import pytest

pytest.importorskip("llama_index.core")

import llama_index.core.settings as li_settings  # noqa: E402
from llama_index.core import Document  # noqa: E402
from llama_index.core.query_engine import RetrieverQueryEngine  # noqa: E402
from llama_index.core.schema import NodeRelationship, TextNode  # noqa: E402

from assistant.entrypoints.llama_index import (AssistantRetriever, CitingSynthesizer,  # noqa: E402
                                               KoreanStructureNodeParser, nodes_from_paths, query_engine)
from assistant.errors import ConfigError  # noqa: E402

from .conftest import CORPUS  # noqa: E402
from .netguard import egress  # noqa: E402

ORDINANCE = CORPUS / "ordinances" / "가온시_노인복지_증진_조례.md"
PENSION = "기초연금은 몇 살부터 받을 수 있나요?"
OUTSIDE = "자동차 정기검사는 몇 년마다 받아야 하나요?"


@pytest.fixture()
def offline(monkeypatch):
    """No OpenAI key, no connection off this machine, and llama-index's global LLM/embedder unresolved: resolving
    either (its default is OpenAI) fails the test."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setattr(li_settings.Settings, "_llm", None)
    monkeypatch.setattr(li_settings.Settings, "_embed_model", None)

    def forbidden(*args, **kwargs):
        raise AssertionError("llama-index global Settings.llm / embed_model resolved (defaults to OpenAI)")

    monkeypatch.setattr(li_settings, "resolve_llm", forbidden)
    monkeypatch.setattr(li_settings, "resolve_embed_model", forbidden)
    monkeypatch.setattr(socket.socket, "connect", egress.guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", egress.guarded(socket.socket.connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", egress.guarded_getaddrinfo(socket.getaddrinfo))
    yield
    assert li_settings.Settings._llm is None and li_settings.Settings._embed_model is None


@pytest.fixture()
def searches(assistant, monkeypatch) -> list[str]:
    """Every search the assistant runs (ask_stream searches through `Assistant.retrieve` too)."""
    seen: list[str] = []
    retrieve = assistant.retrieve

    def counted(question, *args, **kwargs):
        seen.append(question)
        return retrieve(question, *args, **kwargs)

    monkeypatch.setattr(assistant, "retrieve", counted)
    return seen


def test_node_parser_keeps_articles_paragraphs_and_effective_date(offline):
    doc = Document(text=ORDINANCE.read_text(encoding="utf-8"), metadata={"file_path": "ordinances/" + ORDINANCE.name})
    nodes = KoreanStructureNodeParser().get_nodes_from_documents([doc])
    assert nodes and all(isinstance(n, TextNode) for n in nodes)
    by_article = {n.metadata.get("article"): n for n in nodes}
    art3 = by_article["제3조"]
    assert art3.metadata["title"] == "가온시 노인복지 증진 조례" and art3.metadata["doc_type"] == "ordinance"
    assert art3.metadata["paragraphs"] == "제1항, 제2항" and art3.metadata["article_title"] == "시장의 책무"
    assert art3.metadata["citation"] == "[가온시 노인복지 증진 조례 제3조]"
    assert {n.metadata["effective_date"] for n in nodes} == {"2025-01-01"}
    assert all("노인복지과" in n.metadata["department"] for n in nodes)
    assert all(n.ref_doc_id == doc.doc_id for n in nodes)
    assert NodeRelationship.NEXT in nodes[0].relationships and NodeRelationship.PREVIOUS in nodes[1].relationships
    # the embedder sees where the text stands, not ids or hashes; an LLM also sees the citation and date
    embed, llm = art3.get_content(metadata_mode="embed"), art3.get_content(metadata_mode="llm")
    assert "제3조" in embed and "chunk_id" not in embed and "file_path" not in embed
    assert "[가온시 노인복지 증진 조례 제3조]" in llm and "2025-01-01" in llm and "content_sha256" not in llm

    # smaller chunks split articles at 항/호, and the node says which one it stands for
    small = KoreanStructureNodeParser(max_chars=200).get_nodes_from_documents([doc])
    assert any(n.metadata.get("paragraph") and n.metadata["anchor"].startswith(n.metadata["article"]) for n in small)
    assert any(n.metadata.get("item") for n in small)

    # the same chunks straight from disk through our readers, with ids as `assistant ingest` gives them
    from_disk, failures = nodes_from_paths([CORPUS])
    assert not failures
    parsed = {n.node_id for n in nodes}
    assert parsed <= {n.node_id for n in from_disk}


def test_query_engine_answers_as_assistant_ask_does_with_one_search(assistant, offline, searches):
    synthesizer = CitingSynthesizer(assistant)
    engine = RetrieverQueryEngine(retriever=synthesizer.retriever(), response_synthesizer=synthesizer)
    response = engine.query(PENSION)
    assert len(searches) == 1
    assert "65세" in response.response and re.search(r"\[[^\]]+\]", response.response)
    assert response.response == assistant.ask(PENSION).answer
    answer = response.metadata["answer"]
    assert not answer["refused"] and answer["citations"]
    assert all(isinstance(c["links"], list) for c in answer["citations"])  # statute links ride on every citation
    assert response.source_nodes and all(n.score is not None for n in response.source_nodes)
    top = response.source_nodes[0].node.metadata
    assert {"title", "source", "doc_type", "anchor", "citation"} <= set(top)
    assert any(n.node.metadata["title"] == "기초연금" for n in response.source_nodes)
    cited = {c["source"] for c in answer["citations"]}
    assert cited <= {n.node.metadata["source"] for n in response.source_nodes}

    # the factory, and the pieces composed by hand (an unpaired retriever: the answer searches again)
    assert str(query_engine(assistant, k=5).query(PENSION)) == response.response
    streamed = query_engine(assistant, streaming=True).query(PENSION)
    assert "".join(streamed.response_gen).strip() == response.response and streamed.source_nodes  # as ask_stream
    assert str(asyncio.run(query_engine(assistant).aquery(PENSION))) == response.response
    searches.clear()
    plain = RetrieverQueryEngine(retriever=AssistantRetriever(assistant, k=3, mode="keyword"),
                                 response_synthesizer=CitingSynthesizer(assistant))
    again = plain.query(PENSION)
    assert again.response == response.response and len(again.source_nodes) == 3 and len(searches) == 2


def test_out_of_corpus_question_is_refused(assistant, offline):
    response = query_engine(assistant).query(OUTSIDE)
    assert "문서에서 확인할 수 없습니다" in response.response and response.metadata["answer"]["refused"]
    assert response.metadata["answer"]["citations"] == [] and response.source_nodes  # what was searched is shown


def test_bad_arguments_are_korean_errors(assistant):
    with pytest.raises(ConfigError, match="검색 방식"):
        AssistantRetriever(assistant, mode="bm25")
    with pytest.raises(ConfigError, match="모드"):
        CitingSynthesizer(assistant, ask_mode="admin")
    with pytest.raises(ConfigError, match="Assistant"):
        AssistantRetriever(object())
