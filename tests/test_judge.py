"""The judge (#25): a tiny training run on CPU in seconds — data made from the bundled ordinances, a checkpoint
that a second run resumes from, the delta file — and the delta assembled into a folder that plain
`CrossEncoder(folder)` loads and that scores exactly as the trained model did."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open

from assistant.answering.judge_data import JudgeData
from assistant.index import judge
from assistant.index.keyword import KoreanTokenizer

from .conftest import ROOT
from .test_judge_data import ORDINANCES


def train(data, work, steps: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train_judge.py"), str(data), "--work", str(work),
                           "--steps", str(steps), "--layers", "1", "--max-length", "64", "--validate-every", "2",
                           "--save-every", "2", "--validation-share", "0.5", "--validation-groups", "4",
                           "--groups-per-step", "2", "--negatives", "2", "--threads", "1"],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("judge")
    examples = itertools.islice(JudgeData.from_folder(ORDINANCES, KoreanTokenizer()).examples(seed=0), 400)
    data = work / "judge.jsonl"
    data.write_text("".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    first = train(data, work / "run", 2)
    assert first.returncode == 0, first.stderr
    again = train(data, work / "run", 4)  # the same command with more steps resumes from the checkpoint
    assert again.returncode == 0, again.stderr
    return work, first.stdout, again.stdout


def test_a_tiny_run_trains_resumes_and_writes_its_curve_and_delta(trained):
    work, first, again = trained
    assert "resumed at step 2" in again and "resumed" not in first
    curve = [json.loads(line) for line in (work / "run" / "curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in curve] == [0, 2, 4]
    assert all(0.0 <= p["auc"] <= 1.0 and p["groups"] > 0 for p in curve)
    meta = judge.delta_meta(work / "run" / "judge.safetensors")
    assert meta["layers"] == 1 and meta["steps"] == 4 and meta["validation"]["step"] == 4


def test_the_delta_becomes_a_folder_plain_crossencoder_loads(trained, tmp_path):
    from sentence_transformers import CrossEncoder

    work, *_ = trained
    delta = work / "run" / "judge.safetensors"
    folder = judge.ensure_folder(delta, tmp_path)
    assert judge.ensure_folder(delta, tmp_path) == folder  # written once
    pairs = [("긴급지원은 며칠 이내에 결정하나요?", "제7조(결정) 시장은 신청을 받은 날부터 14일 이내에 결정하여야 한다."),
             ("청년이란 누구인가요?", "제2조(정의) \"청년\"이란 19세 이상 39세 이하인 사람을 말한다.")]
    loaded = CrossEncoder(str(folder), local_files_only=True).predict(pairs, activation_fn=torch.nn.Identity())
    model = judge.fresh(1, 64, tmp_path)
    judge.load_delta(model, delta)
    direct = model.predict(pairs, activation_fn=torch.nn.Identity())
    assert loaded == pytest.approx(direct, abs=1e-3)
    with safe_open(str(delta), "pt") as stored:  # the word embeddings come from the wheel, not the delta
        assert not any(name.endswith(judge.WORDS) for name in stored.keys())


def test_a_trained_delta_is_a_reranker_the_assistant_uses(trained, assistant):
    work, *_ = trained
    delta = work / "run" / "judge.safetensors"
    judged = assistant.clone(reranker_model=str(delta), reranker_depth=5)
    hits = judged.retrieve("기초연금은 몇 살부터 받을 수 있나요?", k=5)
    assert all(h.judge is not None and "reranker" in h.ranks for h in hits)
    assert judged.info()["reranker"]["model"].split("/")[-1].startswith("judge-")  # the assembled folder
    assert judged.ask("기초연금은 몇 살부터 받을 수 있나요?").answer


def test_a_law_and_its_decree_fall_on_the_same_side_of_the_split(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_judge", ROOT / "scripts" / "train_judge.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rows = []
    for n in range(40):
        for source in (f"law_법{n}.md", f"decree_법{n}_시행령.md", f"rule_법{n}_시행규칙.md"):
            rows += [{"group": f"{source}#q", "label": 1, "source": source}, {"group": f"{source}#q", "label": 0,
                                                                            "source": source}]
    data = tmp_path / "groups.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    train, held = script.read_groups(data, 0.3)
    assert train and held
    held_families = {g[0]["source"].split("_")[1] for g in held}
    assert held_families.isdisjoint(g[0]["source"].split("_")[1] for g in train)
