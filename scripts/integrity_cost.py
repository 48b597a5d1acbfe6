"""What the integrity checks cost at synthetic sizes (docs/PERFORMANCE.md, "Damaged files"): a generation of N chunks
recombined from a real index (bench.synthetic: vectors and keyword postings; the docstore repeats the real chunk
rows; the dense index is what an ingest of N chunks would build), sealed as an ingest seals it, then timed:

    seal               checksums of every file, written into the manifest (once per ingest)
    load check         sizes and headers, and the checksums when the generation is at most LOAD_CHECKSUM_BYTES
    index verify       every checksum, warm (in the page cache) and cold (the files' pages dropped first)
    load               SearchIndex over the same generation, for scale

    python scripts/integrity_cost.py --index IX --sizes 10000,1000000 --work /tmp/icost [--json OUT]
IX is an ingested index (e.g. of corpora/); the work folder needs ~4 GB per million chunks.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.bench import synthetic  # noqa: E402
from assistant.index import integrity  # noqa: E402
from assistant.index.dense import DenseIndex  # noqa: E402
from assistant.index.store import read_docstore, read_manifest, write_docstore, write_manifest  # noqa: E402


def drop_pages(gen: Path) -> None:
    """Evict this generation's files from the page cache (only theirs: the rest of the machine is left alone)."""
    for path in gen.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd) if os.access(path, os.W_OK) else None
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def build(bot: Assistant, n: int, work: Path) -> Path:
    import numpy as np

    base = bot.index.root / bot.index.generation
    documents, chunks = read_docstore(base)
    gen = work / f"gen-{n}"
    shutil.rmtree(gen, ignore_errors=True)
    gen.mkdir(parents=True)
    vectors, keyword = synthetic(bot, n)
    rows = [dataclasses.replace(chunks[i % len(chunks)], chunk_id=f"synthetic-{i}") for i in range(n)]
    docs = [dict(documents[0], n_chunks=n)]
    write_docstore(gen, docs, rows)
    np.save(gen / "vectors.npy", vectors)
    started = time.perf_counter()
    dense = DenseIndex.build(vectors, bot.settings.threads)
    dense.save(gen)
    print(f"  {n:,}: {dense.kind} built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    keyword.save(gen)
    shutil.copy(base / "welfare.json", gen / "welfare.json")
    manifest = read_manifest(base)
    manifest["counts"] = {"documents": 1, "chunks": n, "by_type": {}}
    manifest["dense_index"] = dense.kind
    return gen, manifest


def timed(fn, rounds: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def measure(bot: Assistant, n: int, work: Path) -> dict:
    from assistant.answering.retrieve import SearchIndex

    gen, manifest = build(bot, n, work)
    started = time.perf_counter()
    write_manifest(gen, manifest)
    seal_s = time.perf_counter() - started
    sizes = {p.name: p.stat().st_size for p in gen.iterdir()}
    total = sum(sizes.values())
    quick_s, quick = timed(lambda: integrity.check_generation(gen, checksums=False))
    load_check_s, load_check = timed(lambda: integrity.check_generation(gen))
    warm_s, warm = timed(lambda: integrity.check_generation(gen, checksums=True))
    drop_pages(gen)
    started = time.perf_counter()
    cold = integrity.check_generation(gen, checksums=True)
    cold_s = time.perf_counter() - started
    assert quick.ok and load_check.ok and warm.ok and cold.ok, (quick, warm, cold)
    algorithms = {}
    for algorithm in ("xxh3_64", "blake2b-128"):
        try:
            algorithms[algorithm] = round(timed(lambda a=algorithm: [integrity.checksum(gen / f, a) for f in sizes
                                                                      if f != "manifest.json"], 1)[0], 3)
        except ImportError:
            algorithms[algorithm] = None
    # the load itself, through the folder layout SearchIndex expects
    root = work / f"index-{n}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    (root / gen.name).symlink_to(gen)
    (root / "CURRENT").write_text(gen.name)
    started = time.perf_counter()
    index = SearchIndex(root, bot.embedder, bot.settings.threads, bot.settings)
    load_s = time.perf_counter() - started
    assert len(index.chunks) == n
    del index
    return {"chunks": n, "bytes": total, "files": sizes, "dense_index": manifest["dense_index"],
            "algorithm": integrity.default_algorithm(), "seal_s": round(seal_s, 3),
            "quick_check_s": round(quick_s, 4), "load_check_s": round(load_check_s, 4),
            "load_check_checksums": load_check.checksums, "verify_warm_s": round(warm_s, 3),
            "verify_cold_s": round(cold_s, 3), "checksum_all_files_s": algorithms, "load_s": round(load_s, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the synthetic generations")
    args = parser.parse_args()
    bot = Assistant(Settings.load(env={}, index_dir=args.index))
    bot.load_models()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        results.append(measure(bot, n, args.work))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        if not args.keep:
            for path in args.work.glob(f"*-{n}"):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() and not path.is_symlink() else path.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
