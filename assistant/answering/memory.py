"""The organisation's answered questions as a signal: a candidate article that an admin labelled as the answer to a
question like this one (the same question in other words, asked before) is likely the answer again.

`assistant tune` writes `memory.json` beside the ranker it installs: each labelled question's embedding (the index's
own embedder, as a query) and the articles that answer it. The ranker reads two features from it for every
candidate: how close the nearest labelled question answered by that article is, and the same for the document,
each as (cosine - FLOOR) / (1 - FLOOR) clipped at 0 — e5 gives two questions of the public set a cosine of .82 at
the median and .90 at the 99th percentile, so only a close paraphrase counts. Whether and how much these count is
what the ranker's fit learns, on folds whose questions were not in the memory."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError

FLOOR = 0.92
RECALL = 3  # the nearest labelled questions above FLOOR whose articles join the candidates


def article_key(source: str, article: str) -> str:
    return f"{source}|{article}"


@dataclass(frozen=True)
class LabelMemory:
    vectors: np.ndarray  # (n, dim), unit length
    articles: tuple[frozenset[str], ...]  # each question's answering "source|제N조" keys
    embedder: str

    @classmethod
    def from_items(cls, items: list[dict], embedder: str) -> "LabelMemory":
        vectors = np.array([x["vector"] for x in items], dtype=np.float32) if items else np.zeros((0, 1), np.float32)
        return cls(vectors, tuple(frozenset(x["keys"]) for x in items), embedder)

    @classmethod
    def load(cls, path: Path, embedder: str) -> "LabelMemory":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            memory = cls.from_items(data["items"], data["embedder"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"라벨 기억 파일을 읽을 수 없습니다: {path} ({exc})") from exc
        if memory.embedder != embedder:
            raise ConfigError(f"라벨 기억 {path}은(는) 다른 임베딩 모델({memory.embedder})로 만들었습니다. "
                              "assistant tune으로 다시 학습해 주세요.")
        return memory

    def to_json(self) -> dict:
        return {"embedder": self.embedder,
                "items": [{"vector": np.round(v, 5).tolist(), "keys": sorted(k)}
                          for v, k in zip(self.vectors, self.articles)]}

    def recalled(self, query: np.ndarray) -> list[str]:
        """The articles that answer the labelled questions close to this one (closest first): candidates even when
        retrieval ranks them below its depth, so a question asked again is never further than its label."""
        if not len(self.vectors):
            return []
        sims = self.vectors @ np.asarray(query, dtype=np.float32)
        out: list[str] = []
        for j in np.argsort(-sims)[:RECALL]:
            if sims[j] <= FLOOR:
                break
            out += [k for k in sorted(self.articles[j]) if k not in out]
        return out

    def features(self, query: np.ndarray, keys: list[str], leave_out: int | None = None) -> np.ndarray:
        """(len(keys), 2): the nearest labelled question answered by each candidate's article, and by its
        document, as (cosine - FLOOR) / (1 - FLOOR) clipped at 0; zeros for an empty memory. `leave_out`: the
        index of a labelled question not to count (a question is not its own evidence when the ranker is fitted)."""
        out = np.zeros((len(keys), 2))
        if not len(self.vectors):
            return out
        close = np.clip((self.vectors @ np.asarray(query, dtype=np.float32) - FLOOR) / (1 - FLOOR), 0, None)
        if leave_out is not None:
            close[leave_out] = 0.0
        for j in np.flatnonzero(close > 0):
            sources = {a.split("|", 1)[0] for a in self.articles[j]}
            for i, key in enumerate(keys):
                if key in self.articles[j]:
                    out[i, 0] = max(out[i, 0], close[j])
                if key.split("|", 1)[0] in sources:
                    out[i, 1] = max(out[i, 1], close[j])
        return out
