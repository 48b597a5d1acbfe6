"""A cross-encoder that re-scores the fused candidates: any local sentence-transformers `CrossEncoder` folder
(bge-reranker-v2-m3, ko-reranker, …) or a judge trained here (`scripts/train_judge.py`'s `.safetensors` delta,
assembled into a folder by `judge.py`). It is never downloaded; `reranker_model = ""` (the default) turns it off."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import ModelMissing
from . import judge, packaged_model
from .embed import QUIET_TOKENIZER, folder_name, force_offline, loading, pick_device, weights_of

log = logging.getLogger(__name__)


class Reranker:
    def __init__(self, model: str, device: str = "auto", threads: int = 2, batch: int = 16,
                 cache_dir: Path | str | None = None):
        force_offline()
        if judge.is_delta(model):
            with loading("판단 모델", model):
                folder = judge.ensure_folder(Path(model).expanduser(), cache_dir)
        else:
            folder = Path(model).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelMissing(f"재순위 모델 폴더를 찾을 수 없습니다: {model} — sentence-transformers CrossEncoder 형식의 "
                               "로컬 폴더 경로를 지정해 주세요 (이 시스템은 모델을 인터넷에서 내려받지 않습니다).")
        with loading("재순위 모델", model):
            import torch
            from sentence_transformers import CrossEncoder

            torch.set_num_threads(max(1, threads))
            self.device = pick_device(device)
            self.weights = weights_of(folder)
            self.checksum = packaged_model.remembered_sha256(self.weights, packaged_model.cache_root(cache_dir))
            self._model = CrossEncoder(str(folder), device=self.device, local_files_only=True,
                                       processor_kwargs=QUIET_TOKENIZER)
        self.folder, self.name, self.batch = folder, folder_name(folder), batch
        log.info("reranker loaded", extra={"model": str(folder), "device": self.device})

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        """One relevance score per text (higher is better; raw logits, comparable within one question)."""
        if not texts:
            return np.zeros(0, np.float32)
        import torch

        return np.asarray(self._model.predict([(question, t) for t in texts], batch_size=self.batch,
                                              activation_fn=torch.nn.Identity(), show_progress_bar=False,
                                              convert_to_numpy=True),
                          dtype=np.float32).reshape(len(texts), -1)[:, -1]

    def describe(self) -> dict:
        return {"library": "sentence-transformers", "model": str(self.folder), "name": self.name,
                "device": self.device, "weights_sha256": self.checksum}

    @classmethod
    def from_settings(cls, settings) -> "Reranker | None":
        if not settings.reranker_model:
            return None
        return cls(settings.reranker_model, settings.device, settings.threads, cache_dir=settings.model_cache_dir or None)
