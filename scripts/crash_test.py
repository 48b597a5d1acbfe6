"""Kill `assistant ingest` with SIGKILL at random moments, N times, and check the index after each kill.

    python scripts/crash_test.py --runs 20

Each round edits the corpus copy (new text to embed, a file removed or restored) so that kills land in parsing,
embedding, writing and switching alike; after every kill the live index must load whole (check_consistency)."""
from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.index.store import check_consistency  # noqa: E402


def ingest(corpus: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(index),
                             "--quiet", "--json"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="crash-"))
    corpus, index = work / "corpus", work / "index"
    shutil.copytree(ROOT / "corpora", corpus)
    subprocess.run([sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(index), "--quiet"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    spare = work / "spare.md"
    results = []
    for run in range(args.runs):
        target = corpus / "ordinances" / f"crash_{run % 3}.md"
        target.write_text(f"# 가온시 시험 조례 {run}\n\n##### 제1조 (목적)\n\n이 조례는 {run}번째 시험을 위하여 "
                          f"{rng.random():.6f}의 값을 정한다.\n\n##### 제2조 (대상)\n\n대상은 가온시 주민 {run}명으로 한다.\n",
                          encoding="utf-8")
        welfare = corpus / "welfare" / "주거급여.md"
        if welfare.exists():
            shutil.move(welfare, spare)
        elif spare.exists():
            shutil.move(spare, welfare)
        proc = ingest(corpus, index)
        delay = rng.uniform(0.3, 8.0)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = check_consistency(index)  # raises if the index is broken
        results.append({"run": run, "kill_after_s": round(delay, 2), "finished_before_kill": finished, **state})
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    killed = sum(not r["finished_before_kill"] for r in results)
    print(json.dumps({"runs": len(results), "killed_mid_ingest": killed, "all_consistent": True}))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
