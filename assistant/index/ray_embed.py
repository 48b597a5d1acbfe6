"""Embedding a large corpus as a Ray job: one embedder actor per worker (per GPU on a cluster of GPU nodes).

`ray_address = "local"` starts Ray on this machine (tests, one server); "auto" or "ray://head:10001" joins a cluster.
Only vectors travel back; the index is still written by the one ingesting process, so crash safety is unchanged.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

from ..errors import ModelMissing

log = logging.getLogger(__name__)
# texts per task: a GPU worker needs thousands to stay busy; on CPU, small shards keep progress reports steady
SHARD_TEXTS = {"cpu": 256, "gpu": 4096}


def start_ray(address: str, workers: int):
    try:
        import ray
    except ImportError as exc:
        raise ModelMissing("ray_address가 설정되어 있지만 ray가 설치되어 있지 않습니다. "
                           "`pip install -e \".[ray]\"`로 설치해 주세요.") from exc
    # Ray must not phone home: usage statistics off before anything starts
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     configure_logging=False, _node_ip_address="127.0.0.1")
        else:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


def embed_on_ray(texts: list[str], settings, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Passage vectors for `texts`, in order, computed by `settings.ray_workers` actors."""
    if not texts:
        return np.zeros((0, 384), np.float32)
    ray = start_ray(settings.ray_address, settings.ray_workers)
    gpus = 1 if settings.ray_address != "local" and ray.cluster_resources().get("GPU", 0) else 0

    @ray.remote(num_cpus=1, num_gpus=gpus)
    class EmbedWorker:
        def __init__(self, settings, threads: int):
            from assistant.index.embed import Embedder

            self.embedder = Embedder.from_settings(settings, threads)

        def embed(self, shard: list[str]) -> np.ndarray:
            return self.embedder.passages(shard)

    threads = 1 if settings.ray_address == "local" else settings.threads  # local workers share this machine's cores
    workers = [EmbedWorker.remote(settings, threads)
               for _ in range(max(1, settings.ray_workers))]
    # length-sorted shards: each actor batches similar lengths, as the single-process path does
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    size = SHARD_TEXTS["gpu" if gpus else "cpu"]
    shards = [order[i:i + size] for i in range(0, len(order), size)]
    pool = ray.util.ActorPool(workers)
    out = np.zeros((len(texts), 0), np.float32)
    done = 0
    for shard, vectors in zip(shards, pool.map(lambda w, s: w.embed.remote([texts[i] for i in s]), shards)):
        if out.shape[1] == 0:
            out = np.zeros((len(texts), vectors.shape[1]), np.float32)
        out[shard] = vectors
        done += len(shard)
        if progress:
            progress(done, len(texts))
    for worker in workers:
        ray.kill(worker)
    log.info("ray embedding done", extra={"texts": len(texts), "workers": len(workers), "address": settings.ray_address})
    return out
