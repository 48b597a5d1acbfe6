"""The HTTP API on the bundled corpus with the real models: FastAPI's TestClient for the logic (keys and roles, 401s,
kiosk isolation, SSE framing, conversation ids, limits, metrics), and one real uvicorn server on 127.0.0.1 — inside a
network namespace with no other interface where the machine allows it — for the wire: the `openai` client, streaming
and not, and 20 concurrent requests each getting its own answer."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from assistant.entrypoints.api import create_app, key_hash  # noqa: E402
from assistant.keys import new_key  # noqa: E402

from .conftest import ROOT, cli_env  # noqa: E402

KEYS = {role: new_key(role) for role in ("kiosk", "staff", "admin")}
SPEC = ",".join(entry for _, entry in KEYS.values())
INTERNAL_QUESTION = "정보공개 청구를 받으면 며칠 안에 공개 여부를 결정해야 하나요?"


def auth(role: str) -> dict:
    return {"Authorization": f"Bearer {KEYS[role][0]}"}


@pytest.fixture(scope="module")
def client(assistant):
    bot = assistant.clone(api_keys=SPEC, audit_enabled=False, api_requests_per_minute=1000)
    return TestClient(create_app(bot.settings, bot))


def test_keys_are_checked_and_only_their_hashes_are_kept(client):
    assert key_hash(KEYS["staff"][0]) in SPEC and KEYS["staff"][0] not in SPEC
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEYS["staff"][0]}):
        response = client.post("/v1/ask", json={"question": "기초연금은 몇 살부터 받나요?"}, headers=headers)
        assert response.status_code == 401 and "API 키" in response.json()["error"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/v1/register").status_code == 200  # public, no key
    assert client.post("/v1/ingest", headers=auth("staff")).status_code == 403  # ingest needs admin


def test_the_docs_page_loads_its_assets_from_this_server(client):
    """Swagger UI, its CSS and favicon from the installed package (the browser test renders it offline)."""
    import re

    html = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert all(a.startswith("/") for a in assets) and "cdn." not in html and "tiangolo" not in html
    assert all(client.get(a).status_code == 200 for a in assets)
    assert "/v1/ask" in client.get("/openapi.json").json()["paths"]


def test_ask_answers_with_checked_citations_and_carries_a_conversation(client):
    first = client.post("/v1/ask", json={"question": "기초연금은 몇 살부터 받을 수 있나요?"}, headers=auth("staff")).json()
    assert set(first) >= {"answer", "citations", "refused", "referral", "model", "timings_ms", "conversation_id",
                          "context"}
    assert not first["refused"] and "65세" in first["answer"] and first["context"] is None
    follow = client.post("/v1/ask", json={"question": "신청은 어디서 하나요?", "conversation_id": first["conversation_id"]},
                         headers=auth("staff")).json()
    assert follow["conversation_id"] == first["conversation_id"] and follow["context"]["subject"] == "기초연금"
    # another key cannot continue it: it gets a new conversation
    other = client.post("/v1/ask", json={"question": "신청은 어디서 하나요?", "conversation_id": first["conversation_id"]},
                        headers=auth("kiosk")).json()
    assert other["conversation_id"] != first["conversation_id"] and other["context"] is None


def test_several_candidates_come_as_a_field_and_a_reply_picks_one(client):
    """Outcome "choose": the candidates are a field a client can render; "2번" in the same conversation asks about
    the second."""
    first = client.post("/v1/ask", json={"question": "위원회는 몇 명으로 구성되나요?"}, headers=auth("staff")).json()
    assert first["outcome"] == "choose" and not first["refused"]
    assert len(first["candidates"]) >= 2 and set(first["candidates"][0]) == {"source", "title", "anchor", "question"}
    second = first["candidates"][1]
    picked = client.post("/v1/ask", json={"question": "2번", "conversation_id": first["conversation_id"]},
                         headers=auth("staff")).json()
    assert picked["outcome"] == "answer" and picked["citations"][0]["source"] == second["source"]


def test_a_kiosk_key_never_gets_internal_documents(client, assistant):
    internal = {d["source"] for d in assistant.index.documents if d.get("audience") == "internal"}
    staff = client.post("/v1/ask", json={"question": INTERNAL_QUESTION}, headers=auth("staff")).json()
    assert any(c["source"] in internal for c in staff["citations"])
    for body in ({"question": INTERNAL_QUESTION, "mode": "staff"},
                 {"question": INTERNAL_QUESTION, "mode": "staff", "filters": {"public_only": False}}):
        kiosk = client.post("/v1/ask", json=body, headers=auth("kiosk")).json()
        assert not any(c["source"] in internal for c in kiosk["citations"])
    hits = client.post("/v1/retrieve", json={"question": INTERNAL_QUESTION, "k": 10}, headers=auth("kiosk")).json()
    assert hits["hits"] and not any(h["source"] in internal for h in hits["hits"])


def test_answers_stream_as_server_sent_events(client):
    with client.stream("POST", "/v1/ask", json={"question": "기초연금은 몇 살부터 받을 수 있나요?"},
                       headers={**auth("staff"), "Accept": "text/event-stream"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [block for block in body.split("\n\n") if block.strip()]
    names = [block.split("\n")[0] for block in events]
    assert names[:-1] and set(names[:-1]) == {"event: token"} and names[-1] == "event: done"
    tokens = "".join(json.loads(block.split("data: ", 1)[1])["text"] for block in events[:-1])
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert tokens.strip() == done["answer"] and done["citations"]


def test_limits_and_bad_requests_get_korean_json_errors(assistant):
    bot = assistant.clone(api_keys=SPEC, audit_enabled=False, api_requests_per_minute=3, api_max_body_kb=1)
    client = TestClient(create_app(bot.settings, bot))
    assert client.post("/v1/ask", json={"question": "가" * 3000}, headers=auth("staff")).status_code == 413
    assert client.post("/v1/ask", json={"question": "   "}, headers=auth("staff")).json()["error"] == "질문을 입력해 주세요."
    bad = client.post("/v1/welfare", json={"age": "많음"}, headers=auth("staff"))
    assert bad.status_code == 400 and bad.json()["error"]
    assert client.post("/v1/retrieve", json={"question": "기초연금"}, headers=auth("staff")).status_code == 200
    limited = client.post("/v1/ask", json={"question": "기초연금"}, headers=auth("staff"))  # the 4th in a minute
    assert limited.status_code == 429 and "요청이 너무 많습니다" in limited.json()["error"]
    text = client.get("/metrics").text
    assert "assistant_requests_total" in text and "assistant_in_flight" in text
    assert "assistant_index_generation_info" in text


def test_another_systems_thumbs_down_joins_the_review_queue(assistant, tmp_path):
    bot = assistant.clone(api_keys=SPEC, audit_enabled=False, feedback_dir=str(tmp_path / "feedback"),
                          audit_dir=str(tmp_path / "audit"))
    client = TestClient(create_app(bot.settings, bot))
    asked = client.post("/v1/ask", json={"question": "기초연금은 몇 살부터 받을 수 있나요?"}, headers=auth("staff")).json()
    sent = client.post("/v1/feedback", headers=auth("staff"), json={
        "question": "기초연금은 몇 살부터 받을 수 있나요? 제 번호는 010-1234-5678", "rating": "down",
        "answer": asked["answer"], "citations": [{"source": c["source"], "anchor": c["anchor"]}
                                                 for c in asked["citations"]], "refused": asked["refused"]})
    assert sent.status_code == 200 and sent.json()["saved"]
    [item] = bot.review_queue()
    assert item.origin == "down" and "010-1234-5678" not in item.question and item.cited
    assert bot.feedback()[0]["by"] == "api:staff"
    bad = client.post("/v1/feedback", headers=auth("staff"), json={"question": "기초연금", "rating": "so-so"})
    assert bad.status_code == 400 and "up 또는 down" in bad.json()["error"]
    assert client.post("/v1/feedback", json={"question": "기초연금", "rating": "down"}).status_code == 401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(assistant, tmp_path_factory):
    port = free_port()
    command = [sys.executable, "-m", "assistant", "api", "--port", str(port), "--index",
               str(assistant.settings.index_dir)]
    env = cli_env(PYTHONPATH=str(ROOT), ASSISTANT_API_KEYS=SPEC, ASSISTANT_AUDIT_DIR=str(tmp_path_factory.mktemp("audit")),
                  ASSISTANT_API_REQUESTS_PER_MINUTE="1000")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read())
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_the_openai_client_uses_the_assistant_as_a_model(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=KEYS["staff"][0])
    done = client.chat.completions.create(model="sovereign-assistant",
                                          messages=[{"role": "user", "content": "기초연금은 몇 살부터 받을 수 있나요?"}])
    assert "65세" in done.choices[0].message.content and "[기초연금" in done.choices[0].message.content
    pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="sovereign-assistant", stream=True,
        messages=[{"role": "user", "content": "기초연금은 몇 살부터 받을 수 있나요?"},
                  {"role": "assistant", "content": "…"}, {"role": "user", "content": "신청은 어디서 하나요?"}])]
    streamed = "".join(pieces)
    assert streamed.startswith("기초연금에 대해 이어서 답합니다") and "[기초연금 > 신청 방법]" in streamed
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="wrong").chat.completions.create(
            model="sovereign-assistant", messages=[{"role": "user", "content": "기초연금"}])


def test_twenty_concurrent_requests_each_get_their_own_answer(server):
    import httpx

    questions = {"기초연금은 몇 살부터 받을 수 있나요?": "기초연금", "아동수당은 누가 받을 수 있나요?": "아동수당",
                 "장애인연금은 누가 받을 수 있나요?": "장애인연금", "주거급여는 누가 받을 수 있나요?": "주거급여"}
    asked = [q for q in questions for _ in range(5)]

    def ask(question: str) -> tuple[str, dict]:
        response = httpx.post(f"{server}/v1/ask", json={"question": question}, headers=auth("staff"), timeout=120)
        return question, response.json()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(ask, asked))
    assert len(results) == 20
    for question, answer in results:
        assert not answer["refused"], (question, answer)
        assert answer["citations"][0]["anchor"].startswith(questions[question]), (question, answer["citations"][0])


ZERO_EGRESS = """
import httpx, subprocess, sys, time
proc = subprocess.Popen([sys.executable, "-m", "assistant", "api", "--port", "8765", "--index", sys.argv[1]],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
for _ in range(240):
    try:
        if httpx.get("http://127.0.0.1:8765/readyz", timeout=5).status_code == 200:
            break
    except httpx.HTTPError:
        time.sleep(0.5)
answer = httpx.post("http://127.0.0.1:8765/v1/ask", json={"question": "기초연금은 몇 살부터 받을 수 있나요?"},
                    headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=120).json()
proc.terminate()
print(answer["citations"][0]["anchor"])
"""


def test_the_api_serves_inside_a_namespace_with_only_loopback(assistant):
    """Zero egress: the server and its client share a network namespace with no interface but loopback."""
    if subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True).returncode != 0:
        pytest.skip("network namespaces (unshare -n, iproute2) are not available here")
    script = f"ip link set lo up && {sys.executable} -c '{ZERO_EGRESS}' {assistant.settings.index_dir} {KEYS['staff'][0]}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=400,
                          env=cli_env(PYTHONPATH=str(ROOT), ASSISTANT_API_KEYS=SPEC, ASSISTANT_AUDIT_ENABLED="0"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith("기초연금")


def test_the_load_bench_reports_throughput_latency_and_mix_ups(server):
    from assistant.evaluation.load import bench_api

    result = bench_api(server, KEYS["staff"][0], ROOT / "corpora" / "qa.jsonl", concurrency=3, seconds=4)
    assert result["requests"] >= 3 and result["errors"] == 0 and result["mixed_answers"] == 0
    assert result["streamed"] >= 1 and result["latency_ms"]["p95"] >= result["latency_ms"]["p50"] > 0
    assert result["generation_before"] == result["generation_after"] and result["reingest"] is None


def test_every_answer_is_audited_with_the_keys_role_never_the_key(assistant, tmp_path):
    bot = assistant.clone(api_keys=SPEC, audit_enabled=True, audit_dir=str(tmp_path / "audit"))
    client = TestClient(create_app(bot.settings, bot))
    client.post("/v1/ask", json={"question": "기초연금은 몇 살부터 받을 수 있나요?"}, headers=auth("kiosk"))
    log = (tmp_path / "audit" / "audit.jsonl").read_text(encoding="utf-8")
    entry = json.loads(log.splitlines()[-1])
    assert entry["role"] == "kiosk" and entry["mode"] == "kiosk"
    assert all(key not in log and key_hash(key) not in log for key, _ in KEYS.values())


def test_admin_uploads_files_and_reingests(assistant, corpus_copy, tmp_path):
    bot = assistant.clone(api_keys=SPEC, audit_enabled=False, corpus_dir=corpus_copy, index_dir=tmp_path / "ix")
    client = TestClient(create_app(bot.settings, bot))
    assert client.post("/v1/ingest", headers=auth("staff")).status_code == 403
    first = client.post("/v1/ingest", headers=auth("admin")).json()
    assert first["added"] == len(assistant.first_report.added) and first["uploaded"] == []
    note = "# 가온시 반려견 등록 안내\n\n반려견 등록은 생후 2개월이 지나면 가까운 동물병원에서 할 수 있습니다.\n"
    report = client.post("/v1/ingest", headers=auth("admin"),
                         files=[("files", ("반려견_등록.md", note.encode(), "text/markdown"))]).json()
    assert report["uploaded"] == ["반려견_등록.md"] and report["documents"]["added"] == ["uploads/반려견_등록.md"]
    bad = client.post("/v1/ingest", headers=auth("admin"), files=[("files", ("virus.exe", b"MZ", "application/x"))])
    assert bad.status_code == 400 and "지원하지 않는 파일 형식" in bad.json()["error"]
