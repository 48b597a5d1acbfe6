"""`assistant bench`: speed and memory of our pipeline and of the plain llama-index pipeline with the same
embedder, in one run, so that figures can be read as ratios on a noisy machine."""
from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from .evaluate import load_qa, percentiles
from ..answering.retrieve import MODES, fuse
from ..index import packaged_model

DEFAULT_QUESTIONS = ["기초연금은 몇 살부터 받을 수 있나요?", "긴급복지 생계지원은 얼마 동안 받을 수 있나요?",
                     "정보공개 청구를 하면 며칠 안에 결정되나요?", "장애인연금 신청은 어디에 하나요?",
                     "청년 구직활동비는 한 달에 얼마인가요?", "경로당 난방비를 지원받을 수 있나요?"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def corpus_chars(corpus: Path, suffixes: tuple[str, ...] = ()) -> int:
    """Characters of the corpus as our readers see it: the same text for both pipelines, whatever their chunks."""
    from ingest import load_documents

    return sum(len(c.text) for d in load_documents([corpus]).documents for c in d.chunks
               if not suffixes or c.source.endswith(suffixes))


def questions_for(corpus: Path) -> list[str]:
    qa = corpus / "qa.jsonl"
    return [x["question"] for x in load_qa(qa)] if qa.is_file() else DEFAULT_QUESTIONS


def bench_ingest(assistant, corpus: Path, work: Path) -> tuple[dict, object]:
    """Ingest into an empty index with an empty embedding cache: every chunk is embedded."""
    bot = assistant.clone(index_dir=work / "index", audit_enabled=False)
    started = time.perf_counter()
    report = bot.ingest([corpus])
    seconds = time.perf_counter() - started
    chars = corpus_chars(corpus)
    return {"chunks": report.chunks, "chars": chars, "seconds": round(seconds, 2),
            "ingest_chunks_per_s": round(report.chunks / seconds, 2),
            "ingest_chars_per_s": round(chars / seconds, 1), "index_mb": round(folder_mb(work / "index"), 2)}, bot


def bench_retrieval(bot, questions: list[str], rounds: int = 3) -> dict:
    bot.retrieve(questions[0])  # warm-up: first query pays one-off costs
    out = {}
    for mode in MODES:
        times = []
        for _ in range(rounds):
            for q in questions:
                started = time.perf_counter()
                bot.retrieve(q, 5, mode)
                times.append((time.perf_counter() - started) * 1000)
        out[mode] = percentiles(times)
    return out


def bench_links(bot, questions: list[str], rounds: int = 3) -> dict:
    """Statute links: extraction time per 1,000 statute articles (done at every ingest), and what following them
    adds to retrieval — the same questions with `link_depth = 0` (a per-question cost that does not grow with the
    index: a few dictionary lookups and the top candidates' lines tokenized)."""
    from ingest.links import extract_links, statute_articles

    chunks = bot.index.chunks
    articles = statute_articles(chunks)
    started = time.perf_counter()
    links = extract_links(chunks)
    seconds = time.perf_counter() - started
    without = bench_retrieval(bot.clone(link_depth=0), questions, rounds)["hybrid"]
    return {"articles": articles, "links": len(links), "extract_s": round(seconds, 3),
            "extract_ms_per_1000_articles": round(seconds * 1e6 / max(articles, 1), 1),
            "retrieve_ms_without_links": without}


def bench_ranker(bot, questions: list[str], rounds: int = 3) -> dict:
    """The learned ranker's cost: hybrid retrieval of the same questions with `ranker_model = "off"` (the hand-set
    order alone) beside it; the features of 20 candidates are read per question whatever the index size."""
    return {"model": bot.models.origin, "depth": bot.settings.ranker_depth,
            "retrieve_ms_without_ranker": bench_retrieval(bot.clone(ranker_model="off"), questions, rounds)["hybrid"]}


def bench_answers(bot, questions: list[str]) -> dict:
    first, total, rates = [], [], []
    for q in questions:
        answer = bot.ask(q)
        first.append(answer.timings_ms["first_token"])
        total.append(answer.timings_ms["total"])
        tokens = len(bot.tokenizer.tokenize(answer.answer))
        gen_ms = max(answer.timings_ms["total"] - answer.timings_ms["retrieve"], 1e-3)
        rates.append(tokens / (gen_ms / 1000))
    return {"first_token_ms": percentiles(first)["p50"], "total_ms": percentiles(total)["p50"],
            "gen_tokens_per_s": round(float(np.median(rates)), 1), "model": bot.settings.backend}


def bench_without_reranker(bot, questions: list[str], generate: bool) -> dict:
    plain = bot.clone(reranker_model="")
    out = {"retrieve_ms": bench_retrieval(plain, questions)["hybrid"]}
    if generate:
        out["first_token_ms"] = bench_answers(plain, questions)["first_token_ms"]
    return out


def bench_concurrency(bot, questions: list[str], concurrency: int, rounds: int = 2) -> dict:
    """Concurrent requests to the configured generative backend (e.g. a vLLM pool): aggregate tokens/s and time to
    first token under load. Tokens are streamed deltas (vLLM sends one token per delta)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..answering.generate import build_messages

    backend = bot.backend
    if not getattr(backend, "generative", False):
        return {"skipped": f"backend {bot.settings.backend!r} does not generate"}
    prompts = [build_messages(q, bot.retrieve(q, bot.settings.top_k), "staff") for q in questions]
    jobs = [prompts[i % len(prompts)] for i in range(concurrency * rounds)]

    def one(messages) -> tuple[float | None, int]:
        started, first, tokens = time.perf_counter(), None, 0
        for _ in backend.stream(messages):
            first = first if first is not None else (time.perf_counter() - started) * 1000
            tokens += 1
        return first, tokens

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, jobs))
    wall = time.perf_counter() - started
    ttft = percentiles([r[0] for r in results if r[0] is not None])
    return {"backend": backend.name, "concurrency": concurrency, "requests": len(jobs), "seconds": round(wall, 2),
            "aggregate_tokens_per_s": round(sum(r[1] for r in results) / wall, 1),
            "requests_per_s": round(len(jobs) / wall, 2), "ttft_ms_p50": ttft["p50"], "ttft_ms_p95": ttft["p95"],
            "empty_responses": sum(r[0] is None for r in results)}


def bench_baseline(assistant, corpus: Path, questions: list[str]) -> dict:
    """The plain llama-index pipeline: its default reader, sentence splitter and in-memory VectorStoreIndex, with
    the same model folder as ours loaded the way llama-index loads a local model (`HuggingFaceEmbedding`:
    sentence-transformers, fp32 torch), passed explicitly (never llama-index's global Settings: they reach for
    OpenAI)."""
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    ours = assistant.embedder
    folder = getattr(ours, "source", None) or packaged_model.ensure_folder(ours.cache_dir)
    prompts = {"query_instruction": "query: ", "text_instruction": "passage: "} if ours.packaged else {}
    model = HuggingFaceEmbedding(model_name=str(folder), device="cpu", embed_batch_size=10, **prompts)

    started = time.perf_counter()
    from ingest.pipeline import ignore_patterns

    # plain llama-index reads PDFs only with the separate llama-index-readers-file package: text files only
    text_files = (".md", ".txt")
    docs = SimpleDirectoryReader(str(corpus), recursive=True, required_exts=list(text_files),
                                 exclude=ignore_patterns(corpus), encoding="utf-8", errors="ignore").load_data()
    # tiktoken would download its vocabulary: count characters instead (offline)
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200, tokenizer=list).get_nodes_from_documents(docs)
    index = VectorStoreIndex(nodes, embed_model=model)
    seconds = time.perf_counter() - started
    chars = corpus_chars(corpus, text_files)
    retriever = index.as_retriever(similarity_top_k=5)
    retriever.retrieve(questions[0])
    times = []
    for q in questions * 3:
        t = time.perf_counter()
        retriever.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    return {"embedder": {"library": "llama-index HuggingFaceEmbedding", "model": str(folder), "backend": "torch"},
            "chunks": len(nodes), "chars": chars, "seconds": round(seconds, 2),
            "ingest_chunks_per_s": round(len(nodes) / seconds, 2), "ingest_chars_per_s": round(chars / seconds, 1),
            "retrieve_ms_p50": percentiles(times)["p50"], "retrieve_ms_p95": percentiles(times)["p95"]}


def synthetic(bot, n: int, seed: int = 0):
    """A large corpus recombined from the real one: each vector mixes two real chunk vectors plus noise, each
    token list is a real chunk's, so postings lengths and idf behave as on real documents."""
    from ..index.keyword import BM25Index

    rng = np.random.default_rng(seed)
    gen = bot.index.root / bot.index.generation
    base = np.load(gen / "vectors.npy")
    kw = bot.index.keyword
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    mix = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    vectors = mix * base[a] + (1 - mix) * base[b] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # per base chunk: its (term, tf) postings, read back from the real inverted index
    terms = np.repeat(np.arange(len(kw.vocab)), np.diff(kw.indptr))
    by_doc = np.argsort(kw.doc_ids, kind="stable")
    doc_terms, doc_ids = terms[by_doc], kw.doc_ids[by_doc]
    starts = np.searchsorted(doc_ids, np.arange(len(base)))
    ends = np.searchsorted(doc_ids, np.arange(len(base)), side="right")
    counts = (ends - starts)[a]
    rows = np.repeat(np.arange(n, dtype=np.int32), counts)
    offsets = np.repeat(starts[a] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
    keyword = BM25Index.from_postings(kw.vocab, doc_terms[offsets].astype(np.int64), rows,
                                      np.ones(len(rows), np.float32), counts.astype(np.float32) * 1.5)
    return vectors.astype(np.float32), keyword


def bench_size(bot, n: int, questions: list[str], threads: int) -> dict:
    from ..index.dense import DenseIndex

    vectors, keyword = synthetic(bot, n)
    started = time.perf_counter()
    dense = DenseIndex.build(vectors, threads)
    build_s = time.perf_counter() - started
    exact = dense if dense.kind.startswith("flat") else DenseIndex.build(vectors, threads, kind="flat")
    queries = [(bot.embedder.query(q), bot.tokenizer.tokenize(q)) for q in questions]
    recalls, times = [], {m: [] for m in MODES}
    for _ in range(3):
        for (qv, qt), q in zip(queries, questions):
            t0 = time.perf_counter()
            bot.embedder.query(q)
            d = dense.search(qv, 50)
            t1 = time.perf_counter()
            k = keyword.search(qt, 50)
            t2 = time.perf_counter()
            fuse([(1.0, d), (1.0, k)], 60, 5)
            t3 = time.perf_counter()
            times["dense"].append((t1 - t0) * 1000)
            times["keyword"].append((t2 - t1) * 1000)
            times["hybrid"].append((t3 - t0) * 1000)
            truth = {r for r, _ in exact.search(qv, 10)}
            recalls.append(len(truth & {r for r, _ in d[:10]}) / 10)
    return {"index_type": dense.kind, "build_s": round(build_s, 1), "ann_recall@10": round(float(np.mean(recalls)), 4),
            "retrieve_ms_p50": percentiles(times["hybrid"])["p50"], "retrieve_ms_p95": percentiles(times["hybrid"])["p95"],
            "dense_ms_p95": percentiles(times["dense"])["p95"], "keyword_ms_p95": percentiles(times["keyword"])["p95"],
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def run_bench(assistant, sizes: list[int], generate: bool = True, corpus: Path | None = None,
              out: Path | None = None, concurrency: int = 0) -> dict:
    corpus = Path(corpus or assistant.settings.corpus_dir)
    questions = questions_for(corpus)
    assistant.load_models()  # before timing anything
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ingest, bot = bench_ingest(assistant, corpus, Path(tmp))
        retrieval = bench_retrieval(bot, questions)
        result = {"corpus": str(corpus), "embedder": assistant.embedder.describe(),
                  **{k: ingest[k] for k in ("ingest_chunks_per_s", "ingest_chars_per_s")},
                  "ingest": ingest, "retrieve_ms_p50": retrieval["hybrid"]["p50"],
                  "retrieve_ms_p95": retrieval["hybrid"]["p95"], "retrieve_ms": retrieval}
        result.update(bench_answers(bot, questions) if generate else {"first_token_ms": None, "gen_tokens_per_s": None})
        result["links"] = bench_links(bot, questions)
        result["ranker"] = bench_ranker(bot, questions)
        if bot.reranker is not None:  # its cost is the difference: the same questions without it
            result["without_reranker"] = bench_without_reranker(bot, questions, generate)
        if concurrency:
            result["concurrent_generation"] = bench_concurrency(bot, questions, concurrency)
        baseline = bench_baseline(assistant, corpus, questions)
        result["baseline"] = baseline
        result["ratios"] = {"ingest_chars_per_s": round(ingest["ingest_chars_per_s"] / baseline["ingest_chars_per_s"], 2),
                            "retrieve_ms_p95": round(retrieval["hybrid"]["p95"] / baseline["retrieve_ms_p95"], 2)}
        source = assistant if _has_index(assistant) else bot  # recombine the biggest real index at hand
        result["by_size"] = {str(n): bench_size(source, n, questions, assistant.settings.threads) for n in sizes}
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        chart(result, Path(out).with_suffix(".png"))
    return result


def _has_index(assistant) -> bool:
    from ..index.store import IndexFolder

    return IndexFolder(assistant.settings.index_dir).current() is not None


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = ["ours", "llama-index"]
    left.bar(names, [result["ingest_chars_per_s"], result["baseline"]["ingest_chars_per_s"]], color=["C0", "C7"])
    left.set_title("ingestion (characters/s)")
    sizes = list(result["by_size"])
    right.plot(sizes, [result["by_size"][s]["retrieve_ms_p95"] for s in sizes], marker="o", label="hybrid p95")
    right.plot(sizes, [result["by_size"][s]["retrieve_ms_p50"] for s in sizes], marker="o", label="hybrid p50")
    right.set_title("retrieval latency by corpus size (ms)")
    right.set_xlabel("chunks")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
