"""Shared fixtures: one real index of the bundled corpus, built once per test session with the real models."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant import Assistant, Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora"


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Assistant:
    index = tmp_path_factory.mktemp("index")
    settings = Settings.load(env={}, index_dir=index, corpus_dir=CORPUS)
    bot = Assistant(settings)
    bot.first_report = bot.ingest()
    return bot


@pytest.fixture()
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus, for tests that edit documents."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def cli_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(extra)
    return env
