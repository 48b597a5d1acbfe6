"""Korean tokenisation, rank fusion, metadata filters and the eval metrics, on small hand-checked cases."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.evaluation.evaluate import first_hit_rank, is_hit, summarise
from assistant.index.keyword import BM25Index
from assistant.answering.retrieve import Filters, Hit


@pytest.fixture(scope="module")
def tokenizer(assistant):
    return assistant.tokenizer


def test_particles_do_not_change_tokens(tokenizer):
    forms = [tokenizer.tokenize(w) for w in ("기초연금을", "기초연금은", "기초연금의", "기초연금이")]
    assert all(f == forms[0] for f in forms)
    assert "연금" in forms[0]


def test_compound_nouns_match_with_and_without_spaces(tokenizer):
    joined, spaced = set(tokenizer.tokenize("기초연금")), set(tokenizer.tokenize("기초 연금"))
    assert "기초연금" in joined and "기초연금" in spaced
    assert "기초연금" not in set(tokenizer.tokenize("기초 연금", compounds=False))


def test_article_numbers_are_exact_tokens(tokenizer):
    assert "§7-2" in tokenizer.tokenize("의료급여법 제7조의2에 따르면")
    assert "§7" in tokenizer.tokenize("제 7 조")
    assert "§7" not in tokenizer.tokenize("제7조의2")


def test_bm25_ranks_the_document_with_the_rare_term_first():
    docs = [["기초", "연금", "지급"], ["아동", "수당", "지급"], ["기초", "생활", "수급자", "지급"]]
    index = BM25Index.build(docs)
    ranked = index.search(["아동", "지급"], 3)
    assert ranked[0][0] == 1
    cover = index.coverage({"아동": 1.0, "지급": 1.0}, [0, 1])
    assert cover.tolist() == [0.5, 1.0]
    mask = np.array([True, False, True])
    assert all(row != 1 for row, _ in index.search(["아동", "지급"], 3, mask))


def test_hybrid_fusion_beats_or_equals_each_retriever(assistant):
    question = "기초연금은 몇 살부터 받을 수 있나요?"
    hybrid = assistant.retrieve(question, 5)
    assert hybrid[0].chunk.source == "welfare/기초연금.md"
    assert set(hybrid[0].ranks) >= {"dense", "keyword"}  # fused from both lists
    assert hybrid[0].dense is not None and 0 < hybrid[0].coverage <= 1


def test_article_reference_is_resolved_directly(assistant):
    hits = assistant.retrieve("가온시 노인복지 증진 조례 제5조의2는 무엇을 정하나요?", 3)
    assert hits[0].chunk.title == "가온시 노인복지 증진 조례" and hits[0].chunk.anchor.startswith("제5조의2")
    assert "article" in hits[0].ranks


def test_filters_by_type_department_audience_and_date(assistant):
    q = "정보공개 청구 처리 기한"
    assert {h.chunk.doc_type for h in assistant.retrieve(q, 10, filters=Filters(doc_types=("welfare",)))} == {"welfare"}
    assert all("노인복지과" in (h.chunk.department or "")
               for h in assistant.retrieve(q, 10, filters=Filters(departments=("노인복지과",))))
    assert all(h.chunk.audience == "public" for h in assistant.retrieve(q, 10, filters=Filters(public_only=True)))
    old = assistant.retrieve(q, 10, filters=Filters(in_force_on="2024-12-31"))
    assert all(not h.chunk.effective_date or h.chunk.effective_date <= "2024-12-31" for h in old)
    assert all(h.chunk.doc_type != "ordinance" for h in old)  # the sample ordinances take effect in 2025


def test_hit_rule_and_metrics_on_a_hand_checked_set():
    assert is_hit("docs/law_기초연금법.md", "제3조 제1항~제3항", "law_기초연금법.md", "제3조 제1항")
    assert not is_hit("docs/law_기초연금법.md", "제3조의2", "law_기초연금법.md", "제3조")
    assert not is_hit("docs/law_기초연금법.md", "부칙<제1호> 제3조", "law_기초연금법.md", "제3조")
    assert is_hit("welfare_노령층.md", "긴급 주거지원 > 지원 대상, 신청 방법", "welfare_노령층.md", "긴급 주거지원 > 신청 방법")
    assert not is_hit("welfare_노령층.md", "주거급여 > 지원 대상", "welfare_노령층.md", "긴급 주거지원 > 신청 방법")

    class C:
        def __init__(self, source, anchor):
            self.source, self.anchor = source, anchor

    hits = [Hit(C("a.md", "제1조"), 0, 0), Hit(C("b.md", "제2조"), 0, 1)]
    assert first_hit_rank(hits, {"doc": "b.md", "anchor": "제2조"}) == 2
    assert summarise([1, 2, None, 5], 5) == {"n": 4, "recall@1": 0.25, "recall@5": 0.75, "mrr": 0.425}  # (1 + 1/2 + 0 + 1/5) / 4


def test_torch_exact_search_agrees_with_faiss_including_filters():
    """The GPU path without faiss-gpu (torch fp16 exact top-k on CUDA) runs here on CPU in float32: same hits."""
    from assistant.index.dense import DenseIndex

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    faiss_index = DenseIndex.build(vectors, kind="flat", device="cpu")
    torch_index = DenseIndex.build(vectors, kind="flat", device="torch")
    assert faiss_index.kind == "flat" and torch_index.kind == "flat+torch-cpu"
    allowed = rng.random(500) < 0.3
    for q in vectors[:5] + 0.1 * rng.normal(size=(5, 384)).astype(np.float32):
        for mask in (None, allowed):
            a, b = faiss_index.search(q, 10, mask), torch_index.search(q, 10, mask)
            assert [i for i, _ in a] == [i for i, _ in b]
            assert np.allclose([s for _, s in a], [s for _, s in b], atol=1e-4)
    only_two = np.zeros(500, bool)
    only_two[[3, 7]] = True
    assert sorted(i for i, _ in torch_index.search(vectors[0], 10, only_two)) == [3, 7]


def test_a_title_written_with_another_middle_dot_still_resolves_the_article(assistant, tmp_path):
    from assistant.answering.retrieve import compact_title

    assert compact_title("이용·제공 및 발굴") == compact_title("이용ㆍ제공 및발굴") == "이용ㆍ제공및발굴"
    corpus = tmp_path / "docs"
    corpus.mkdir()
    articles = "\n\n".join(f"제{n}조(조항{n}) 가온시장은 주민의 정보 이용ㆍ제공 업무 {n}을 처리한다." for n in range(1, 9))
    (corpus / "조례.md").write_text(f"# 가온시 정보 이용ㆍ제공 조례\n\n{articles}\n", encoding="utf-8")
    bot = assistant.clone(index_dir=tmp_path / "index", audit_enabled=False)
    bot.ingest([corpus])
    from assistant.answering.retrieve import Retriever

    refs = Retriever(bot.index, bot.embedder, bot.tokenizer, bot.settings).article_refs(
        "가온시 정보 이용·제공 조례 제7조는 무엇인가요?", None)  # U+00B7 typed, U+318D in the title
    assert refs and {bot.index.chunks[r].anchor for r, _ in refs} == {"제7조"}
    assert bot.retrieve("가온시 정보 이용·제공 조례 제7조는 무엇인가요?", 1)[0].chunk.anchor == "제7조"


def test_everyday_words_reach_the_statutes_words_in_keyword_search(assistant):
    from assistant.index.keyword import statute_words

    tokenize = assistant.tokenizer.tokenize
    assert statute_words(tokenize("월세 지원을 받을 수 있나요?")) == "임차료"
    assert statute_words(tokenize("기초연금은 몇 살부터?")) == ""
    assert statute_words(tokenize("예산 집행은 누가 하나요?")) == ""  # "집" is a word of its own, not a substring
    hits = assistant.retrieve("월세 사는 사람도 돈이 나오나요?", 3, mode="keyword")  # the guide says 임차료
    assert hits and "주거급여" in hits[0].chunk.source
