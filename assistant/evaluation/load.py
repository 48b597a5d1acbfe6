"""`assistant bench --api URL --concurrency N`: the HTTP API held under load. N clients ask mixed questions (every
third one streamed as SSE) for a fixed time; optionally an admin key publishes a re-ingest in the middle. Reported:
requests/s, latency p50/p95, errors, answers citing another question's document (a mixed-up answer), and the live
index generation before and after the switch with the answers served on each."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .evaluate import load_qa, percentiles
from .hits import is_hit


def ask(client, url: str, key: str, question: str, stream: bool) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    if not stream:
        response = client.post(f"{url}/v1/ask", json={"question": question}, headers=headers, timeout=120)
        response.raise_for_status()
        return response.json()
    with client.stream("POST", f"{url}/v1/ask", json={"question": question}, timeout=120,
                       headers={**headers, "Accept": "text/event-stream"}) as response:
        response.raise_for_status()
        body = "".join(response.iter_text())
    done = [block for block in body.split("\n\n") if block.startswith("event: done")]
    return json.loads(done[-1].split("data: ", 1)[1])


def generation(client, url: str) -> str | None:
    try:
        return client.get(f"{url}/readyz", timeout=30).json().get("generation")
    except Exception:  # noqa: BLE001 - a probe: the bench reports what it saw
        return None


def bench_api(url: str, key: str, qa: Path, concurrency: int = 20, seconds: float = 120.0,
              admin_key: str = "", reingest_at: float | None = None) -> dict:
    import httpx

    url = url.rstrip("/")
    items = [x for x in load_qa(qa) if x.get("doc")]
    client = httpx.Client()
    before = generation(client, url)
    started = time.perf_counter()
    deadline = started + seconds
    lock = threading.Lock()
    rows: list[dict] = []
    switch: dict = {}
    counter = iter(range(10**9))

    def worker() -> None:
        with httpx.Client() as own:
            while time.perf_counter() < deadline:
                n = next(counter)
                item, stream = items[n % len(items)], n % 3 == 0
                t0 = time.perf_counter()
                try:
                    answer = ask(own, url, key, item["question"], stream)
                    error = None
                except Exception as exc:  # noqa: BLE001 - counted, the load goes on
                    answer, error = None, f"{type(exc).__name__}: {exc}"[:200]
                row = {"at": round(t0 - started, 2), "ms": (time.perf_counter() - t0) * 1000, "stream": stream,
                       "error": error}
                if answer is not None:
                    top = answer["citations"][0] if answer["citations"] else None
                    # an answer that cites another question's document (not a refusal) would be a mix-up
                    row["mixed"] = bool(top) and not is_hit(top["source"], top["anchor"], item["doc"], None) and any(
                        is_hit(top["source"], top["anchor"], other["doc"], None) for other in items
                        if other["doc"] != item["doc"] and other["question"] != item["question"])
                with lock:
                    rows.append(row)

    def reingest() -> None:
        time.sleep(reingest_at)
        t0 = time.perf_counter()
        response = client.post(f"{url}/v1/ingest", headers={"Authorization": f"Bearer {admin_key}"}, timeout=600)
        switch.update(status=response.status_code, at=round(t0 - started, 2),
                      seconds=round(time.perf_counter() - t0, 2), generation=generation(client, url),
                      report={k: v for k, v in response.json().items() if k in ("added", "updated", "removed")})

    with ThreadPoolExecutor(concurrency + 1) as pool:
        if admin_key and reingest_at is not None:
            pool.submit(reingest)
        for _ in range(concurrency):
            pool.submit(worker)
    wall = time.perf_counter() - started
    ok = [r for r in rows if not r["error"]]
    switched_at = (switch.get("at") or 0) + (switch.get("seconds") or 0)
    return {"url": url, "concurrency": concurrency, "seconds": round(wall, 1), "requests": len(rows),
            "requests_per_s": round(len(rows) / wall, 2), "latency_ms": percentiles([r["ms"] for r in ok]),
            "streamed": sum(r["stream"] for r in rows), "errors": len(rows) - len(ok),
            "error_samples": sorted({r["error"] for r in rows if r["error"]})[:5],
            "mixed_answers": sum(r.get("mixed", False) for r in ok),
            "generation_before": before, "reingest": switch or None, "generation_after": generation(client, url),
            "answers_after_switch": sum(r["at"] >= switched_at for r in ok) if switch else None}
