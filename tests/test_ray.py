"""Embedding as a Ray job (local Ray here, a cluster of GPU nodes at scale) gives the in-process vectors."""
from __future__ import annotations

import numpy as np
import pytest

from assistant import Assistant, Settings

from .conftest import CORPUS

ray = pytest.importorskip("ray", reason="the `ray` extra is installed by scripts/install.sh")


@pytest.fixture(scope="module")
def ray_index(tmp_path_factory):
    settings = Settings.load(env={}, index_dir=tmp_path_factory.mktemp("ray-index"), ray_address="local",
                             ray_workers=2, audit_enabled=False)
    bot = Assistant(settings)
    try:
        yield bot, bot.ingest([CORPUS / "welfare"])
    finally:
        ray.shutdown()


def test_ray_job_embeds_every_chunk_like_the_local_embedder(ray_index, assistant):
    bot, report = ray_index
    assert report.embedded == report.chunks > 10 and not report.failed
    gen = bot.index.root / bot.index.generation
    texts = [c.embed_text for c in bot.index.chunks]
    local = assistant.embedder.passages(texts)
    assert np.sum(np.load(gen / "vectors.npy") * local, axis=1).min() > 0.999


def test_ray_built_index_answers(ray_index):
    bot, _ = ray_index
    hits = bot.retrieve("기초연금은 몇 살부터 받을 수 있나요?", 3)
    assert "기초연금" in hits[0].chunk.source
