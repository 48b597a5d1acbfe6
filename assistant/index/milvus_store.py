"""Dense vector search with Milvus (pymilvus MilvusClient): the same interface as dense.DenseIndex.

Two deployments, one code path:

* one machine (``milvus_uri`` empty): milvus-lite. Its data is a *directory* holding an exclusive flock, so it can
  neither sit in a generation folder as is (publish fsyncs every entry as a file) nor be opened by the UI and the CLI
  at once. ``save`` therefore builds the lite database in a scratch directory and packs it into one file,
  ``<gen>/dense.milvus.tar``; ``load`` unpacks it into a private scratch directory of this process. A new generation
  gets a new file, prune deletes it with the folder, and the published generation is never written to.
  milvus-lite 3 serves gRPC on 127.0.0.1 from a thread of this process: it needs the loopback interface, nothing else.
* a cluster (``milvus_uri`` e.g. "http://milvus.internal:19530"): one collection per generation, named
  ``<milvus_collection>_<gen name>``; ``<gen>/dense.milvus.json`` records which. ``drop_unused_collections`` removes
  collections whose generation folder is gone (call it after publish/prune).

Rows (primary key ``row``) are the integer chunk positions; metric inner product (vectors are L2-normalised).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from .dense import EXACT_LIMIT, DenseIndex

log = logging.getLogger(__name__)

POINTER_FILE = "dense.milvus.json"
LITE_FILE = "dense.milvus.tar"
FIELD_ROW, FIELD_VEC = "row", "vec"
INSERT_BATCH = 5_000
MAX_TOPK = 16_384  # Milvus caps limit (topk) at 16384
MAX_EXPR_CHARS = 60_000  # longer allow-lists are split into several filtered searches
OVERFETCH = 8


def _pymilvus():
    import pymilvus

    return pymilvus


def _collection_name(prefix: str, gen_name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", f"{prefix}_{gen_name.replace('.building-', 'gen-')}")
    return name if re.match(r"[A-Za-z_]", name) else f"c_{name}"


def _strip_credentials(uri: str) -> str:
    return re.sub(r"//[^/@]*@", "//", uri)


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Sorted unique ints -> [(first, last)] of consecutive runs."""
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(rows) - 1]))
    return [(int(rows[s]), int(rows[e])) for s, e in zip(starts, ends)]


def _set_expr(rows: np.ndarray) -> str:
    """A Milvus boolean expression true exactly for `rows`: runs of 3+ as ranges, the rest as one `in` list."""
    singles, terms = [], []
    for a, b in _runs(rows):
        if b - a >= 2:
            terms.append(f"({FIELD_ROW} >= {a} and {FIELD_ROW} <= {b})")
        else:
            singles.extend(range(a, b + 1))
    if singles:
        terms.append(f"{FIELD_ROW} in [{','.join(map(str, singles))}]")
    return " or ".join(terms) if terms else f"{FIELD_ROW} < 0"


def filter_expression(allowed: np.ndarray) -> str | None:
    """The shorter of 'row in allowed' and 'not row in disallowed'; None when too long for one expression."""
    ok = np.flatnonzero(allowed)
    ko = np.flatnonzero(~allowed.astype(bool))
    positive = _set_expr(ok)
    negative = f"not ({_set_expr(ko)})" if len(ko) else ""
    expr = negative if negative and len(negative) < len(positive) else positive
    return expr if len(expr) <= MAX_EXPR_CHARS else None


class MilvusDenseIndex:
    """Top-k inner-product search over chunk rows in a Milvus collection (milvus-lite locally, or a cluster)."""

    def __init__(self, client, collection: str, kind: str, size: int, dim: int, lite_dir: Path | None = None,
                 uri: str = "", token: str = "", index_type: str = "FLAT"):
        self.client, self.collection, self.kind, self._size, self.dim = client, collection, kind, size, dim
        self.lite_dir, self.uri, self.token, self.index_type = lite_dir, uri, token, index_type
        self._pending: np.ndarray | None = None  # vectors from build(), written by save()

    # ---------------------------------------------------------------- interface shared with DenseIndex
    @property
    def size(self) -> int:
        return self._size

    @classmethod
    def build(cls, vectors: np.ndarray, threads: int = 2, kind: str = "auto", *, uri: str = "", token: str = "",
              prefix: str = "assistant") -> "MilvusDenseIndex":
        """Keep the vectors for save(); `threads` is unused (Milvus searches server-side). `kind` picks the Milvus
        index type as DenseIndex does: exact (FLAT) up to EXACT_LIMIT vectors, HNSW past it; "flat"|"hnsw"|"ivf"."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if kind == "auto":
            kind = "flat" if len(vectors) <= EXACT_LIMIT else "hnsw"
        index_type = {"flat": "FLAT", "hnsw": "HNSW", "ivf": "IVF_FLAT"}.get(kind)
        if index_type is None:
            raise ValueError(kind)
        self = cls(None, "", "milvus" if uri else "milvus-lite", len(vectors),
                   vectors.shape[1] if vectors.ndim == 2 else 0, uri=uri, token=token, index_type=index_type)
        self._pending = vectors
        self._prefix = prefix
        return self

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        vectors = self._pending
        if vectors is None:
            raise RuntimeError("MilvusDenseIndex.save: only a freshly built index can be saved")
        pointer = {"kind": self.kind, "dim": self.dim, "count": int(len(vectors)), "metric": "IP",
                   "index_type": self.index_type}
        if self.uri:
            self.collection = _collection_name(getattr(self, "_prefix", "assistant"), folder.name)
            self.client = _connect(self.uri, self.token)
            self._write(vectors)
            pointer.update(collection=self.collection, uri=_strip_credentials(self.uri))
        else:
            scratch = Path(tempfile.mkdtemp(prefix="milvus-build-"))
            try:
                db = scratch / "dense.db"
                self.collection = "dense"
                self.client = _connect(str(db))
                self._write(vectors)
                _close_lite(self.client, db)
                self.client = None
                tmp = folder / (LITE_FILE + ".tmp")
                with tarfile.open(tmp, "w") as tar:
                    tar.add(db, arcname="dense.db", filter=lambda ti: None if ti.name.endswith("/LOCK") else ti)
                os.replace(tmp, folder / LITE_FILE)
                pointer.update(collection=self.collection, file=LITE_FILE)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        (folder / POINTER_FILE).write_text(json.dumps(pointer, indent=2), encoding="utf-8")
        if not self.uri:  # searches after save() read the saved copy, as a loaded index would
            loaded = MilvusDenseIndex.load(folder)
            self.client, self.lite_dir = loaded.client, loaded.lite_dir
            loaded.client = loaded.lite_dir = None
        self._pending = None

    @classmethod
    def load(cls, folder: Path, threads: int = 2, *, uri: str = "", token: str = "") -> "MilvusDenseIndex":
        """Open a saved generation. For a cluster index, `uri` (settings.milvus_uri) overrides the recorded one."""
        folder = Path(folder)
        pointer = json.loads((folder / POINTER_FILE).read_text(encoding="utf-8"))
        if pointer.get("file"):
            lite_dir = Path(tempfile.mkdtemp(prefix="milvus-lite-"))
            with tarfile.open(folder / pointer["file"]) as tar:
                tar.extractall(lite_dir, filter="data")
            db = lite_dir / "dense.db"
            client = _connect(str(db))
            atexit.register(_cleanup_lite, client, db, lite_dir)
            self = cls(client, pointer["collection"], "milvus-lite", pointer["count"], pointer["dim"],
                       lite_dir=lite_dir, index_type=pointer.get("index_type", "FLAT"))
        else:
            uri = uri or pointer["uri"]
            client = _connect(uri, token)
            self = cls(client, pointer["collection"], "milvus", pointer["count"], pointer["dim"], uri=uri,
                       token=token, index_type=pointer.get("index_type", "FLAT"))
        client.load_collection(self.collection)
        return self

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k rows by inner product; `allowed` is a boolean mask of rows that may be returned."""
        if self.size == 0 or k <= 0:
            return []
        if self.client is None:
            if self._pending is None:
                raise RuntimeError("MilvusDenseIndex is closed")
            return DenseIndex.build(self._pending, kind="flat").search(query, k, allowed)  # built, not yet saved
        q = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        k = min(k, self.size, MAX_TOPK)
        if allowed is None:
            return self._search(q, k, None)
        allowed = np.asarray(allowed, dtype=bool)
        if not allowed.any():
            return []
        if allowed.all():
            return self._search(q, k, None)
        expr = filter_expression(allowed)
        if expr is not None:
            return self._search(q, k, expr)
        # a large, scattered allow-list: over-fetch and filter; exact when k allowed rows turn up among the fetched
        fetch = min(self.size, k * OVERFETCH, MAX_TOPK)
        hits = [(r, s) for r, s in self._search(q, fetch, None) if r < len(allowed) and allowed[r]]
        if len(hits) >= k or fetch >= self.size:
            return hits[:k]
        # otherwise exact: the allow-list in slices short enough for one expression each, merged
        rows = np.flatnonzero(allowed)
        step = max(1, MAX_EXPR_CHARS // (len(str(self.size)) + 1) - 8)
        merged: list[tuple[int, float]] = []
        for i in range(0, len(rows), step):
            merged.extend(self._search(q, k, f"{FIELD_ROW} in [{','.join(map(str, rows[i:i + step]))}]"))
        return sorted(merged, key=lambda h: -h[1])[:k]

    # ---------------------------------------------------------------- extras
    def close(self) -> None:
        if self.client is not None and self.lite_dir is not None:
            _cleanup_lite(self.client, self.lite_dir / "dense.db", self.lite_dir)
        elif self.client is not None:
            self.client.close()
        self.client = None

    def _search(self, q: list[float], k: int, expr: str | None) -> list[tuple[int, float]]:
        params = {"metric_type": "IP", "params": {"ef": max(128, k)} if self.index_type == "HNSW" else
                  {"nprobe": 32} if self.index_type == "IVF_FLAT" else {}}
        res = self.client.search(self.collection, data=[q], limit=k, filter=expr or "", anns_field=FIELD_VEC,
                                 output_fields=[FIELD_ROW], search_params=params)
        hits = [(int(h[FIELD_ROW] if FIELD_ROW in h else h["id"]), float(h["distance"])) for h in res[0]]
        return sorted(hits, key=lambda h: (-h[1], h[0]))

    def _write(self, vectors: np.ndarray) -> None:
        pm = _pymilvus()
        client = self.client
        if client.has_collection(self.collection):
            client.drop_collection(self.collection)  # a half-written collection from a crashed build
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(FIELD_ROW, pm.DataType.INT64, is_primary=True)
        schema.add_field(FIELD_VEC, pm.DataType.FLOAT_VECTOR, dim=max(self.dim, 1))
        index = client.prepare_index_params()
        params = {"M": 32, "efConstruction": 64} if self.index_type == "HNSW" else \
            {"nlist": int(4 * np.sqrt(max(len(vectors), 1)))} if self.index_type == "IVF_FLAT" else {}
        index.add_index(field_name=FIELD_VEC, index_type=self.index_type, metric_type="IP", params=params)
        client.create_collection(self.collection, schema=schema, index_params=index, consistency_level="Strong")
        for start in range(0, len(vectors), INSERT_BATCH):
            part = vectors[start:start + INSERT_BATCH]
            client.insert(self.collection, [{FIELD_ROW: start + i, FIELD_VEC: v} for i, v in enumerate(part.tolist())])
        client.flush(self.collection)
        client.load_collection(self.collection)


def _connect(uri: str, token: str = ""):
    return _pymilvus().MilvusClient(uri=uri, token=token) if token else _pymilvus().MilvusClient(uri=uri)


def _close_lite(client, db: Path) -> None:
    try:
        client.close()
    finally:
        try:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(db))
        except ImportError:
            pass


def _cleanup_lite(client, db: Path, lite_dir: Path) -> None:
    if lite_dir.exists():
        try:
            _close_lite(client, db)
        except Exception:  # noqa: BLE001 - best effort at exit
            log.debug("closing milvus-lite failed", exc_info=True)
        shutil.rmtree(lite_dir, ignore_errors=True)


# -------------------------------------------------------------------- backend choice from settings
class MilvusBackend:
    """What make_dense_index returns for vector_store = "milvus": build/load bound to the settings."""

    def __init__(self, settings):
        self.uri = getattr(settings, "milvus_uri", "") or ""
        self.token = getattr(settings, "milvus_token", "") or os.environ.get("MILVUS_TOKEN", "")
        self.prefix = getattr(settings, "milvus_collection", "") or "assistant"

    def build(self, vectors: np.ndarray, threads: int = 2, kind: str = "auto") -> MilvusDenseIndex:
        return MilvusDenseIndex.build(vectors, threads, kind, uri=self.uri, token=self.token, prefix=self.prefix)

    def load(self, folder: Path, threads: int = 2) -> MilvusDenseIndex:
        return MilvusDenseIndex.load(folder, threads, uri=self.uri, token=self.token)


def vector_store(settings) -> str:
    store = (getattr(settings, "vector_store", "faiss") or "faiss").lower() if settings is not None else "faiss"
    if store not in ("faiss", "milvus"):
        raise ValueError(f"vector_store must be 'faiss' or 'milvus', not {store!r}")
    return store


def make_dense_index(settings):
    """The class-like builder for new generations: `make_dense_index(settings).build(vectors, threads)`."""
    return MilvusBackend(settings) if vector_store(settings) == "milvus" else DenseIndex


def load_dense_index(settings, gen: Path, threads: int = 2):
    """Open a generation's dense index by what the generation holds (dense.milvus.json or dense.faiss), so a switch
    of `vector_store` never breaks the live index; settings only supply the cluster URI/token. settings may be None."""
    gen = Path(gen)
    if (gen / POINTER_FILE).exists():
        return MilvusBackend(settings).load(gen, threads)
    return DenseIndex.load(gen, threads, getattr(settings, "device", "auto") if settings is not None else "auto")


def drop_unused_collections(settings, index_root: Path) -> list[str]:
    """Cluster only: drop `<milvus_collection>_*` collections that no generation folder under index_root names."""
    backend = MilvusBackend(settings)
    if not backend.uri:
        return []
    used = set()
    for pointer in Path(index_root).glob("*/" + POINTER_FILE):
        used.add(json.loads(pointer.read_text(encoding="utf-8")).get("collection"))
    client = _connect(backend.uri, backend.token)
    try:
        stale = [c for c in client.list_collections() if c.startswith(backend.prefix + "_gen_") and c not in used]
        for name in stale:
            client.drop_collection(name)
        return stale
    finally:
        client.close()
