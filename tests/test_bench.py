"""`assistant bench` on a tiny corpus: the JSON contract of DESIGN.md, with the llama-index baseline in the run."""
from __future__ import annotations

import shutil

from assistant.evaluation.bench import run_bench

from .conftest import CORPUS


def test_bench_reports_the_contract_fields(assistant, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("기초연금.md", "주거급여.md"):
        shutil.copy(CORPUS / "welfare" / name, corpus)
    result = run_bench(assistant, [3000], generate=True, corpus=corpus, out=tmp_path / "bench.json")
    for key in ("ingest_chunks_per_s", "ingest_chars_per_s", "retrieve_ms_p50", "retrieve_ms_p95", "first_token_ms",
                "gen_tokens_per_s", "peak_rss_mb"):
        assert result[key] and result[key] > 0, key
    assert set(result["baseline"]) >= {"ingest_chunks_per_s", "ingest_chars_per_s", "retrieve_ms_p95"}
    assert result["ranker"]["model"] == "packaged" and result["ranker"]["retrieve_ms_without_ranker"]["p95"] > 0
    size = result["by_size"]["3000"]
    assert size["index_type"] == "flat" and size["ann_recall@10"] == 1.0
    assert (tmp_path / "bench.json").is_file() and (tmp_path / "bench.png").is_file()
