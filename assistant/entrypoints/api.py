"""`assistant api`: the HTTP API for the province's other systems (FastAPI on uvicorn), over the same `Assistant`
facade as the CLI and the UI. Keys belong to roles (kiosk, staff, admin) and are kept only as SHA-256 hashes; a kiosk
key never reaches internal documents whatever it sends. `/v1/chat/completions` speaks the OpenAI chat protocol, so an
OpenAI client or Open WebUI can use the assistant as the model `sovereign-assistant`."""
from __future__ import annotations

import collections
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator

from fastapi import Depends, FastAPI, File, Header, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field

from ..answering.conversation import Conversation
from ..answering.retrieve import Filters
from ..errors import AssistantError, ConfigError, DiskFull
from ..facade import Assistant
from ..index.uploads import UploadRejected, check_upload, save_upload
from ..keys import ROLES
from ..settings import Settings
from ..welfare.services import BadProfile
from .payloads import hit_json

MODEL_NAME = "sovereign-assistant"
CONVERSATION_TTL_S = 30 * 60
UPLOAD_FILES = 8  # an ingest request may carry this many files of at most max_file_mb each


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def parse_keys(spec: str) -> dict[str, str]:
    """`ASSISTANT_API_KEYS="role:sha256hex,…"` -> {sha256hex: role}."""
    keys = {}
    for item in (x.strip() for x in spec.split(",") if x.strip()):
        role, _, digest = item.partition(":")
        if role not in ROLES or len(digest) != 64:
            raise ConfigError(f"api_keys 항목이 올바르지 않습니다: '{item[:12]}…' (역할:sha256 16진수 64자)")
        keys[digest.lower()] = role
    return keys


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AskRequest(BaseModel):
    question: str = Field(max_length=4000)
    mode: str = "staff"
    filters: dict | None = None
    conversation_id: str | None = None


class FeedbackRequest(BaseModel):
    question: str = Field(max_length=4000)
    rating: str  # up | down
    comment: str = Field(default="", max_length=2000)
    answer: str = Field(default="", max_length=20000)  # the answer the person saw
    citations: list[dict] = Field(default_factory=list, max_length=50)  # [{"source", "anchor"}] it cited
    refused: bool = False


class RetrieveRequest(BaseModel):
    question: str = Field(max_length=4000)
    k: int = Field(default=5, ge=1, le=50)
    filters: dict | None = None


class ChatMessage(BaseModel):
    role: str
    content: str | list | None = None


class ChatRequest(BaseModel):
    model: str = MODEL_NAME
    messages: list[ChatMessage]
    stream: bool = False


class Caller:
    """Who is asking: the key's role and its hash (the key itself is never kept or logged)."""

    def __init__(self, role: str, digest: str):
        self.role, self.digest = role, digest

    def mode(self, asked: str) -> str:
        return "kiosk" if self.role == "kiosk" else (asked if asked in ("staff", "kiosk") else "staff")

    def filters(self, raw: dict | None) -> Filters:
        raw = raw or {}
        # internal documents are for staff: a kiosk key gets public ones whatever it sends
        return Filters(doc_types=tuple(raw.get("doc_types") or ()), departments=tuple(raw.get("departments") or ()),
                       public_only=self.role == "kiosk" or bool(raw.get("public_only")),
                       in_force_on=raw.get("in_force_on"))


class RateLimiter:
    """At most `per_minute` requests per key in any 60 s."""

    def __init__(self, per_minute: int):
        self.per_minute, self._seen, self._lock = per_minute, collections.defaultdict(collections.deque), threading.Lock()

    def allow(self, digest: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[digest]
            while seen and now - seen[0] > 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return False
            seen.append(now)
            return True


class Conversations:
    """Conversation ids of one server process, each bound to the key that opened it; forgotten after 30 idle minutes."""

    def __init__(self):
        self._items: dict[str, tuple[str, Conversation, float]] = {}
        self._lock = threading.Lock()

    def get(self, conversation_id: str | None, digest: str) -> tuple[str, Conversation]:
        now = time.monotonic()
        with self._lock:
            for cid in [c for c, (_, _, t) in self._items.items() if now - t > CONVERSATION_TTL_S]:
                del self._items[cid]
            found = self._items.get(conversation_id or "")
            if found is None or found[0] != digest:  # another key's conversation is not yours to continue
                conversation_id, conversation = uuid.uuid4().hex, Conversation()
            else:
                conversation = found[1]
            self._items[conversation_id] = (digest, conversation, now)
            return conversation_id, conversation


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    assistant = assistant or Assistant(settings)
    keys = parse_keys(settings.api_keys)
    limiter, conversations = RateLimiter(settings.api_requests_per_minute), Conversations()
    registry = CollectorRegistry()
    requests = Counter("assistant_requests", "HTTP requests", ["path", "status"], registry=registry)
    latency = Histogram("assistant_request_seconds", "Request latency", ["path"], registry=registry)
    refusals = Counter("assistant_refusals", "Answers refused for lack of support", registry=registry)
    in_flight = Gauge("assistant_in_flight", "Requests being served", registry=registry)
    generation = Gauge("assistant_index_generation_info", "Live index generation", ["generation"], registry=registry)
    # /docs with Swagger UI, its CSS and favicon served from the installed fastapi-offline package (FastAPI's default
    # loads them from a CDN and fastapi's site: a blank page, and an attempt to leave the network, in an air-gapped office)
    app = FastAPIOffline(title="가온 행정 도우미 API", version="1", description=__doc__)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError):
        return JSONResponse({"error": str(exc)}, status_code=400 if exc.exit_code == 1 else 503)

    @app.middleware("http")
    async def measure(request: Request, call_next):
        length = int(request.headers.get("content-length") or 0)
        limit = UPLOAD_FILES * settings.max_file_mb * 2**20 if request.url.path == "/v1/ingest" else \
            settings.api_max_body_kb * 1024
        if length > limit:
            return JSONResponse({"error": f"요청이 너무 큽니다 ({limit // 1024:,} KB 이하)."}, status_code=413)
        started = time.perf_counter()
        in_flight.inc()
        try:
            response = await call_next(request)
        finally:
            in_flight.dec()
        path = request.scope.get("route").path if request.scope.get("route") else "other"
        latency.labels(path).observe(time.perf_counter() - started)
        requests.labels(path, str(response.status_code)).inc()
        return response

    def caller(authorization: str = Header(default="")) -> Caller:
        scheme, _, key = authorization.partition(" ")
        digest = key_hash(key.strip()) if scheme.lower() == "bearer" and key.strip() else ""
        role = keys.get(digest)
        if role is None:
            raise ApiError(401, "API 키가 없거나 올바르지 않습니다. Authorization: Bearer <키>를 보내 주세요.")
        if not limiter.allow(digest):
            raise ApiError(429, "요청이 너무 많습니다. 잠시 뒤에 다시 시도해 주세요.")
        return Caller(role, digest)

    def admin(who: Caller = Depends(caller)) -> Caller:
        if who.role != "admin":
            raise ApiError(403, "관리자 키가 필요합니다.")
        return who

    def answer_stream(question: str, who: Caller, mode: str, filters: Filters, conversation: Conversation | None):
        return assistant.ask_stream(question, who.mode(mode), filters, conversation=conversation, role=who.role)

    def finished(answer) -> dict:
        refusals.inc(answer.refused)
        return answer.to_json()

    @app.post("/v1/ask")
    def ask(body: AskRequest, request: Request, who: Caller = Depends(caller)):
        conversation_id, conversation = conversations.get(body.conversation_id, who.digest)
        stream = answer_stream(body.question, who, body.mode, who.filters(body.filters), conversation)
        if "text/event-stream" not in request.headers.get("accept", ""):
            for _ in stream:
                pass
            return {**finished(stream.result), "conversation_id": conversation_id, "context": stream.result.context}

        def events() -> Iterator[str]:
            for piece in stream:
                yield f"event: token\ndata: {json.dumps({'text': piece}, ensure_ascii=False)}\n\n"
            done = {**finished(stream.result), "conversation_id": conversation_id, "context": stream.result.context}
            yield f"event: done\ndata: {json.dumps(done, ensure_ascii=False)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/feedback")
    def feedback(body: FeedbackRequest, who: Caller = Depends(caller)):
        """👍/👎 from another system's user on an answer it got from /v1/ask: a 👎 joins the admin review queue."""
        record = assistant.save_feedback(body.rating, body.comment, assistant.check_question(body.question),
                                         {"answer": body.answer, "citations": body.citations,
                                          "refused": body.refused}, by=f"api:{who.role}")
        return {"saved": True, "at": record["at"], "rating": record["rating"]}

    @app.post("/v1/retrieve")
    def retrieve(body: RetrieveRequest, who: Caller = Depends(caller)):
        return {"hits": [hit_json(h) for h in assistant.retrieve(body.question, body.k, "hybrid", who.filters(body.filters))]}

    @app.get("/v1/article")
    def article(ref: str, who: Caller = Depends(caller)):
        """'아동수당법 제4조': the article, its links and the linked 법률 · 시행령 · 시행규칙 · 조례 articles side by side."""
        return assistant.article(ref)

    @app.post("/v1/welfare")
    def welfare(profile: dict, who: Caller = Depends(caller)):
        try:
            return assistant.welfare_finder(profile)
        except BadProfile as exc:
            raise ApiError(400, str(exc)) from exc

    @app.get("/v1/register")
    def register():
        return assistant.register(public=True)

    @app.post("/v1/ingest")
    def ingest(files: list[UploadFile] | None = File(default=None), who: Caller = Depends(admin)):
        """Re-ingests the configured corpus; uploaded files (multipart `files`) are checked and saved under
        corpus_dir/uploads first, so they are part of it."""
        suffixes = assistant.supported_suffixes()
        uploads = [(f.filename or "", f.file.read(settings.max_file_mb * 2**20 + 1)) for f in files or []]
        try:
            for name, data in uploads:
                check_upload(settings, name, len(data), suffixes)
        except UploadRejected as exc:
            raise ApiError(400, str(exc)) from exc
        saved = [str(save_upload(settings, name, data).name) for name, data in uploads]
        try:
            report = assistant.ingest(by=f"api:{who.role}")
        except DiskFull as exc:  # the live generation still answers; the caller learns what is missing
            raise ApiError(507, str(exc)) from exc
        return {**report.to_json(), "uploaded": saved}

    @app.get("/v1/models")
    def models(who: Caller = Depends(caller)):
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": settings.default_department}]}

    @app.post("/v1/chat/completions")
    def chat(body: ChatRequest, who: Caller = Depends(caller)):
        """The last user message is the question; the earlier user messages are replayed as the conversation."""
        said = [text(m.content) for m in body.messages if m.role == "user" and text(m.content).strip()]
        if not said:
            raise ApiError(400, "사용자 메시지(role: user)가 없습니다.")
        conversation = Conversation()
        for earlier in said[:-1]:
            for _ in answer_stream(earlier, who, "staff", who.filters(None), conversation):
                pass
        stream = answer_stream(said[-1], who, "staff", who.filters(None), conversation)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            content = "".join(stream)
            finished(stream.result)
            return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL_NAME,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}

        def chunks() -> Iterator[str]:
            head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME}
            yield f"data: {json.dumps({**head, 'choices': [{'index': 0, 'delta': {'role': 'assistant'}, 'finish_reason': None}]})}\n\n"
            for piece in stream:
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                yield f"data: {json.dumps({**head, 'choices': [delta]}, ensure_ascii=False)}\n\n"
            finished(stream.result)
            yield f"data: {json.dumps({**head, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        try:
            assistant.load_models()
            live = assistant.index.generation
        except AssistantError as exc:
            return JSONResponse({"status": "not ready", "error": str(exc)}, status_code=503)
        health = assistant.index_health()
        if health["status"] == "degraded":  # answering correctly from an older intact generation: ready, and why
            return {"status": "degraded", "generation": live, "live_generation": health["live_generation"],
                    "reason": health["reason"]}
        return {"status": "ready", "generation": live}

    @app.get("/metrics")
    def metrics():
        try:
            generation.clear()
            generation.labels(assistant.index.generation).set(1)
        except AssistantError:
            pass
        return PlainTextResponse(generate_latest(registry).decode(), media_type="text/plain; version=0.0.4")

    return app


def text(content) -> str:
    """OpenAI message content: a string, or a list of parts of which the text ones count."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content or ""


def app_from_env() -> FastAPI:
    """The app uvicorn's workers build for themselves (`assistant api --workers N`): settings from the environment."""
    return create_app(Settings.load())
