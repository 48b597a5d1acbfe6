"""The `Assistant` facade: the one object the CLI and the UI talk to. Models load lazily, once."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .answering.answer import PREVIOUS_VERSION, Answer, AnswerStream, EvidenceSelector, PreviousVersionStream, make_backend
from .answering.answerability import AnswerabilityModel, Features, Judge
from .answering.candidates import Chooser
from .answering.chain import Chain
from .answering.conversation import Conversation, SubjectReader
from .answering.retrieve import Filters, Hit, Retriever, SearchIndex
from .errors import BadQuestion
from .governance.audit import audited
from .governance.logins import ADMIN_LOGINS
from .governance.privacy import mask_pii
from .index.indexer import Indexer, IngestReport, Progress
from .index.links import write_links
from .index.uploads import UploadRejected, check_upload, human_size, save_upload, upload_dir
from .learning.review import VERDICTS as REVIEW_VERDICTS
from .settings import Settings
from .welfare.services import write_services

log = logging.getLogger(__name__)
ASK_MODES = ("staff", "kiosk")
# what the surfaces use beside the Assistant, re-exported: the UI imports only the facade, errors and settings
__all__ = ["ADMIN_LOGINS", "Assistant", "Filters", "REVIEW_VERDICTS", "UploadRejected", "check_upload", "human_size",
           "save_upload", "upload_dir"]


class Assistant:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._index: SearchIndex | None = None

    @functools.cached_property
    def embedder(self):
        from .index.embed import Embedder

        return Embedder.from_settings(self.settings)

    @functools.cached_property
    def reranker(self):
        from .index.rerank import Reranker

        return Reranker.from_settings(self.settings)

    @functools.cached_property
    def tokenizer(self):
        from .index.keyword import KoreanTokenizer

        return KoreanTokenizer()

    def load_models(self) -> None:
        """Kiwi and the embedder load side by side (both spend most of it in native code): ~3 s cold instead of ~6."""
        if "tokenizer" in self.__dict__ or "embedder" in self.__dict__:
            self.tokenizer, self.embedder  # noqa: B018 - whichever is missing loads here
            return
        with ThreadPoolExecutor(1) as pool:
            kiwi = pool.submit(lambda: self.tokenizer.tokenize("준비"))  # Kiwi builds its model on first use
            self.embedder  # noqa: B018
            kiwi.result()

    @functools.cached_property
    def models(self):
        """The learned models' files: settings, else those `assistant tune` installed in the index folder, else the
        packaged ones (assistant/learning/models.py)."""
        from .learning.models import active_models

        return active_models(self.settings)

    @functools.cached_property
    def answerability(self) -> AnswerabilityModel:
        return AnswerabilityModel.load(self.models.answerability)

    @functools.cached_property
    def ranker(self):
        """The learned ranker correcting the hand-set order; None when settings turn it off, or when its correction
        is nothing (the packaged one: the hand-set order, without reading 26 features of 20 candidates, ~3 ms)."""
        from .answering.ranker import RankerModel

        model = RankerModel.load(self.models.ranker) if self.models.ranker else None
        return model if model is not None and any(model.coef) else None

    @functools.cached_property
    def memory(self):
        """The organisation's labelled questions the tuned ranker reads (answering/memory.py); None before a tune."""
        from .answering.memory import LabelMemory

        return LabelMemory.load(self.models.memory, self.embedder.model_id) if self.models.memory else None

    @functools.cached_property
    def backend(self):
        return make_backend(self.settings)

    @property
    def index(self) -> SearchIndex:
        """The generation `integrity.serve` picks: the live one, or the newest older intact one while the live one is
        damaged (`index_health` says why). Kept while that stays the same, whatever CURRENT holds."""
        from .index.integrity import serve

        served = serve(self.settings.index_dir)
        if self._index is None or self._index.generation != served.generation.name:
            self._index = self._load_index(served.generation)
        return self._index

    def _load_index(self, gen: Path) -> SearchIndex:
        """Load the served generation `gen`. A file that passed the checks but cannot be read (a generation written
        before checksums were recorded) raises IndexFileDamaged naming it: that generation is passed over for the
        next one serve() picks, or serve() raises IndexDamaged when none is left. Nothing else is taken for damage."""
        from .errors import IndexFileDamaged
        from .index import integrity

        root = self.settings.index_dir
        embedder = self.embedder  # outside the try: a model that fails to load is not a damaged generation
        for _ in range(len(integrity.generations(root)) + 1):  # each failure forgets one generation
            try:
                return SearchIndex(root, embedder, self.settings.threads, self.settings, gen)
            except IndexFileDamaged as exc:
                integrity.forget(gen, integrity.Problem(exc.file, exc.what))
                damaged = exc
                gen = integrity.serve(root).generation  # the next intact one; IndexDamaged when none is left
        raise damaged  # serve() still picks one after every generation failed: files are changing under us

    def index_health(self) -> dict:
        """ok · degraded (an older generation served, and why) · damaged · missing: admin page, info, /readyz."""
        from .index.integrity import health

        return health(self.settings.index_dir)

    def ingest(self, paths: Iterable[Path] | None = None, keep_missing: bool = False, dry_run: bool = False,
               progress: Progress | None = None, by: str | None = None, rebuild: bool = False) -> IngestReport:
        paths = list(paths or [self.settings.corpus_dir])
        self.load_models()
        indexer = Indexer(self.settings, self.embedder, self.tokenizer, derived=(write_services, write_links))
        report = indexer.sync(paths, keep_missing, dry_run, progress, by, rebuild)
        self._index = None
        return report

    @staticmethod
    def supported_suffixes() -> frozenset[str]:
        """File types ingestion reads (the admin upload checks against it)."""
        from ingest.readers import supported_suffixes

        return supported_suffixes()

    def _history(self):
        """The ingest history of this index, or None before the first ingest that changed anything."""
        from .index.history import History

        if not (self.settings.index_dir / "history.sqlite").exists():
            return None
        return History(self.settings.index_dir)

    def history(self, limit: int = 50) -> list[dict]:
        """Past ingests, newest first, with their per-document and per-article changes (admin page)."""
        history = self._history()
        if history is None:
            return []
        with history:
            return history.runs(limit)

    def previous_version(self, question: str) -> dict | None:
        """Staff asking for '개정 전 제5조' of a document they name get the superseded text, if it was kept."""
        from ingest.structure import article_label

        from .index.keyword import ARTICLE_REF

        ref = ARTICLE_REF.search(question)
        history = self._history() if ref and PREVIOUS_VERSION.search(question) else None
        if history is None:
            return None
        compact = question.replace(" ", "")
        titles = sorted({d["title"] for d in self.index.documents if d["title"].replace(" ", "") in compact}, key=len)
        with history:
            for title in reversed(titles):
                found = history.previous(title, article_label(ref))
                if found:
                    return found[0]
        return None

    def recent_changes(self, source: str) -> list[str]:
        history = self._history()
        if history is None:
            return []
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=self.settings.recent_change_days)
        with history:
            return history.recent_changes(source, since.isoformat(timespec="seconds"))

    def check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise BadQuestion("질문을 입력해 주세요.")
        if len(question) > self.settings.max_question_chars:
            raise BadQuestion(f"질문이 너무 깁니다. {self.settings.max_question_chars}자 이내로 줄여 주세요.")
        if sum(ch.isprintable() or ch.isspace() for ch in question) < len(question) * 0.9:
            raise BadQuestion("질문에 읽을 수 없는 문자가 많습니다. 글자로 다시 입력해 주세요.")
        return question

    def retrieve(self, question: str, k: int | None = None, mode: str = "hybrid",
                 filters: Filters = Filters()) -> list[Hit]:
        question = self.check_question(question)
        self.load_models()
        return Retriever(self.index, self.embedder, self.tokenizer, self.settings, self.reranker,
                         self.ranker, self.memory).search(question, k, mode, filters)

    def clone(self, **changes) -> "Assistant":
        """The same loaded models with other settings (another index, backend or audit choice)."""
        other = Assistant(self.settings.replace(**changes))
        models = {"index_dir", "ranker_model", "answerability_model"}
        shared = ("embedder", "tokenizer") + (() if "reranker_model" in changes else ("reranker",)) + \
            (() if models & set(changes) else ("models", "answerability", "ranker", "memory"))
        for name in shared:
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    def ask_stream(self, question: str, mode: str = "staff", filters: Filters = Filters(),
                   conversation: Conversation | None = None, role: str | None = None) -> AnswerStream:
        """A streamed answer. With a `conversation`, the question is read in the light of its earlier turns (a
        follow-up takes their subject) and the finished turn is added to it, personal data masked. `role` is what the
        audit log records as the asker (the API key's role; by default the mode's)."""
        if mode not in ASK_MODES:
            raise BadQuestion(f"알 수 없는 모드입니다: {mode} (staff 또는 kiosk)")
        started = time.perf_counter()
        previous = self.previous_version(question) if mode == "staff" else None
        if previous:
            return audited(self, PreviousVersionStream(question.strip(), previous, started), mode, role)
        if mode == "kiosk":
            filters = dataclasses.replace(filters, public_only=True)
        question = self.check_question(question)
        self.load_models()
        if conversation is not None:  # "2번" or "청년 기본 조례요" after a question back asks about that one
            question = conversation.picked(question, self.tokenizer.tokenize) or question
        index = self.index
        selector = EvidenceSelector(self.tokenizer, index.keyword)
        judge = Judge(self.answerability,
                      Features(self.tokenizer, index.keyword, index.rows_by_source.get, index.delegation_partners))

        retrieved: dict[str, list[Hit]] = {}  # a follow-up's two readings are searched once each

        def hits_for(query: str) -> list[Hit]:
            if query not in retrieved:
                retrieved[query] = self.retrieve(query, self.settings.top_k, "hybrid", filters)
            return retrieved[query]

        def support(query: str, text: str) -> float:
            """How well the chunks found for `query` answer `text` (answerability of the best chunk's quotes)."""
            hits = hits_for(query)
            evidence = selector.select(query, hits)
            return judge(text, hits, [e.citation.quote for e in evidence]).support if evidence else 0.0

        context = None
        if conversation is not None:
            context = SubjectReader(self.tokenizer, index).read(mask_pii(question), conversation, support)
        hits = hits_for(context.query if context else question)
        retrieve_ms = (time.perf_counter() - started) * 1000
        keep = (lambda answer: conversation.add(mask_pii(question), context, answer)) if context else (lambda a: None)
        chooser = Chooser(self.tokenizer, index)
        stream = AnswerStream(question, hits, retrieve_ms, started, self.settings, selector, judge, self.backend, mode,
                              self.recent_changes, context, keep, chooser, Chain(index, selector, filters))
        return audited(self, stream, mode, role)

    @staticmethod
    def conversation() -> Conversation:
        """A new, empty conversation: pass it to `ask`/`ask_stream` turn after turn (one per chat, kiosk visit …)."""
        return Conversation()

    def ask(self, question: str, mode: str = "staff", filters: Filters = Filters(),
            conversation: Conversation | None = None) -> Answer:
        stream = self.ask_stream(question, mode, filters, conversation)
        for _ in stream:
            pass
        return stream.result

    def article(self, ref: str) -> dict:
        """'아동수당법 제4조': the article's text with its chain of delegation (the linked 법률 · 시행령 · 시행규칙 ·
        조례 articles side by side); `assistant article`, the staff chat's source pane, GET /v1/article."""
        from .answering.chain import article_view

        ref = self.check_question(ref)
        found = article_view(self.index, ref)
        if found is None:
            raise BadQuestion(f"색인에서 '{ref}' 조문을 찾지 못했습니다. 법령 이름과 조 번호를 함께 적어 주세요 "
                              "(예: 아동수당법 제4조).")
        return found

    def welfare_finder(self, profile: dict) -> dict:
        """The welfare services a citizen with `profile` may be eligible for, with the rule and the citation
        (assistant/welfare/services.py; `assistant welfare`, the kiosk's finder, POST /v1/welfare)."""
        from .welfare.services import find

        return find(self, profile)

    def register(self, public: bool = True) -> dict:
        """The AI-use register entry of this deployment, built from the live system."""
        from .governance.register import build_register

        return build_register(self, public=public)

    @staticmethod
    def register_markdown(entry: dict) -> str:
        from .governance.register import render_markdown

        return render_markdown(entry)

    @staticmethod
    def mask(text: str) -> str:
        """`text` with personal data replaced by typed placeholders (`[주민등록번호]` …)."""
        return mask_pii(text)

    def info(self) -> dict:
        from .index.store import read_manifest

        health = self.index_health()  # the generation answers come from, checked (the live one, or a fallback)
        gen = self.settings.index_dir / health["served_generation"] if health["served_generation"] else None
        manifest = read_manifest(gen) if gen else None
        out = {"index_dir": str(self.settings.index_dir), "generation": gen.name if gen else None,
               "integrity": health,
               "manifest": manifest, "backend": self.settings.backend,
               "embedder": self.embedder.describe(),
               "reranker": self.reranker.describe() if self.reranker else None,
               "index_embedder": manifest["embedding"] if manifest else None,
               "dense_search": self.index.dense.kind if gen else None,
               "learned_models": self.models.describe(),
               "external_services": self.settings.llm_endpoints or "없음 (모든 처리가 이 서버 안에서 이루어집니다)"}
        return out

    def tune(self, labels: list[dict], dry_run: bool = False, by: str = "cli") -> dict:
        """Re-fit the ranker and the answerability model on labelled questions (QA format), cross-validated; the
        new models are installed in the index folder only when they beat the current ones on held-out folds
        (assistant/learning/tune.py). Answers after it use them."""
        from .learning.tune import tune

        result = tune(self, labels, dry_run, by)
        if result.get("installed"):
            self.forget_models()
        return result

    def undo_tune(self, by: str = "cli") -> dict:
        """Back to the models in use before the last tune (the packaged ones after the first); audited."""
        from .governance.audit import record_event
        from .learning.models import undo

        done = undo(self.settings.index_dir, by)
        record_event(self, "tune_undo", by=by, **{"from": done["from"], "to": done["to"] or "packaged"})
        self.forget_models()
        return {**done, "models": self.models.describe()}

    def forget_models(self) -> None:
        """The learned models are read again on next use (after tune or its undo)."""
        for name in ("models", "answerability", "ranker", "memory"):
            self.__dict__.pop(name, None)

    def tune_history(self) -> list[dict]:
        """Every tune installed and undone in this index folder, oldest first (admin page)."""
        from .learning.models import read_log

        return read_log(self.settings.index_dir)

    # ------------------------------------------------------------ feedback, review queue, labels

    def save_feedback(self, rating: str, comment: str, question: str, answer, by: str = "staff") -> dict:
        """👍/👎 on an answer, masked (the review queue reads the 👎). `answer`: the Answer shown (staff chat), or
        what another system showed (the API): {"answer": text, "citations": [{"source", "anchor"}], "refused"}."""
        from .learning.review import save_feedback

        if isinstance(answer, dict):
            cited = [c for c in answer.get("citations") or () if isinstance(c, dict)]
            return save_feedback(self.settings, rating, comment, question, str(answer.get("answer") or ""), cited,
                                 bool(answer.get("refused")), by=by)
        cited = [{"source": c.source, "anchor": c.anchor, "label": c.label} for c in answer.citations]
        return save_feedback(self.settings, rating, comment, question, answer.answer, cited, answer.refused,
                             answer.support, answer.model, by)

    def feedback(self) -> list[dict]:
        from .learning.review import read_feedback

        return read_feedback(self.settings)

    def review_queue(self, limit: int = 100) -> list:
        """Questions waiting for an admin's label: every 👎, every refusal, a sample of the answered."""
        from .learning.review import key_of, queue, read_labels

        labelled = {key_of(x["question"]) for x in read_labels(self.settings)}
        return queue(self.settings, labelled, self.settings.review_sample)[:limit]

    def review_candidates(self, question: str, k: int = 10) -> list[dict]:
        """The top-k passages retrieval finds for a queued question, for the admin to pick the one that answers."""
        return [{"source": h.chunk.source, "title": h.chunk.title, "anchor": h.chunk.anchor,
                 "text": h.chunk.text, "doc_type": h.chunk.doc_type} for h in self.retrieve(question, k)]

    def label(self, item, verdict: str, by: str, passage: dict | None = None, documents=()) -> dict:
        """Saves an admin's judgement on a queue item as a QA-format line (labels.jsonl); audited."""
        from .governance.audit import record_event
        from .learning.review import append_jsonl, labels_path, make_label

        record = make_label(item, verdict, by, passage, documents)
        append_jsonl(labels_path(self.settings), record)
        record_event(self, "label", id=record["id"], by=record["labelled_by"], kind=record["kind"],
                     doc=record.get("doc"), anchor=record.get("anchor"))
        return record

    def withdraw_label(self, label_id: str, by: str) -> None:
        """Takes a label back (a mistake): its question returns to the review queue; audited."""
        from .governance.audit import record_event
        from .learning.review import withdraw

        record_event(self, "label_withdrawn", id=label_id, by=withdraw(self.settings, label_id, by)["withdrawn_by"])

    def labels(self) -> list[dict]:
        """The organisation's labelled questions (latest judgement per question), QA format."""
        from .learning.review import read_labels

        return read_labels(self.settings)

    def labels_path(self) -> Path:
        from .learning.review import labels_path

        return labels_path(self.settings)

    def labels_jsonl(self) -> str:
        """The labels as one exportable JSONL text (`assistant eval` and `assistant tune` read it)."""
        from .learning.review import labels_jsonl

        return labels_jsonl(self.settings)

    def run_regression(self) -> dict:
        """`assistant eval` over the labels on the served generation, kept per generation and models for the admin
        page's chart (learning/review.py)."""
        from .learning.review import run_regression

        return run_regression(self)

    def regression_history(self) -> list[dict]:
        from .learning.review import read_jsonl, regression_path

        return read_jsonl(regression_path(self.settings))

    def documents(self) -> list[dict]:
        """The documents of the generation answers come from, one dict each (source, title, doc_type, audience,
        department, effective_date, n_chunks, ingested_at): the admin page's statistics and list."""
        return list(self.index.documents)
