"""The learned ranker, the memory of labelled questions, the review queue's labels and `assistant tune` (#31): on the
bundled corpus's real index and models. Tune runs on a copy of the session index (it installs into the folder)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest

from assistant import Assistant
from assistant.answering.memory import LabelMemory
from assistant.answering.ranker import FEATURES, MEMORY, RankerModel, fit_ranker
from assistant.errors import BadQuestion, ConfigError
from assistant.governance.audit import audit_path, export
from assistant.index.store import live_generation
from assistant.learning.review import ReviewItem
from assistant.learning.tune import check_labels

from .conftest import ROOT, cli_env

QA = [json.loads(line) for line in (ROOT / "corpora" / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
HALF_A = [x for x in QA if zlib.crc32(x["id"].encode()) % 2 == 0]
HALF_B = [x for x in QA if zlib.crc32(x["id"].encode()) % 2 == 1]


@pytest.fixture()
def own_index(assistant, tmp_path) -> Assistant:
    """A copy of the session index with its own audit log and feedback folder."""
    root = tmp_path / "index"
    root.mkdir()
    gen = live_generation(assistant.settings.index_dir)
    shutil.copy2(assistant.settings.index_dir / "CURRENT", root / "CURRENT")
    shutil.copytree(gen, root / gen.name)
    bot = assistant.clone(index_dir=root, audit_dir=str(tmp_path / "audit"), feedback_dir=str(tmp_path / "feedback"))
    return bot


def refusal_accuracy(bot: Assistant, items: list[dict]) -> float:
    return sum(bot.ask(x["question"]).refused == (not x.get("doc")) for x in items) / len(items)


# ---------------------------------------------------------------- the ranker and the memory


def test_a_fitted_correction_puts_the_answering_candidate_first_where_the_hand_set_order_did_not():
    """Ten questions whose answer is always the candidate with the highest value of one feature, though the
    hand-set score puts another first: the listwise fit learns to correct that; the zero correction changes nothing."""
    rng = np.random.default_rng(0)
    x, y, q, score = [], [], [], []
    for question in range(10):
        feats = rng.normal(size=(5, len(FEATURES)))
        answer = int(np.argmax(feats[:, FEATURES.index("article_title")]))
        hand = np.linspace(0.05, 0.04, 5)
        x.append(feats), y.append(np.arange(5) == answer), q.append(np.full(5, question)), score.append(hand)
    x, y, q, score = np.vstack(x), np.concatenate(y).astype(float), np.concatenate(q), np.concatenate(score)
    model = fit_ranker(x, y, q, score, l2=0.1)
    assert model.coef[FEATURES.index("article_title")] == max(model.coef)
    first = x[:5]
    best = [(row, float(s)) for row, s in zip(range(5), score[:5])]
    reordered = model.reorder(best + [(99, 0.01)], first)
    assert reordered[0][0] == int(np.argmax(first[:, FEATURES.index("article_title")]))
    assert reordered[-1][0] == 99 and reordered[-1][1] < min(s for _, s in reordered[:-1])
    zero = RankerModel(model.mean, model.scale, (0.0,) * len(FEATURES), model.temperature, {})
    assert [r for r, _ in zero.reorder(best, first)] == [r for r, _ in best]


def test_the_packaged_ranker_reports_family_held_out_figures_and_keeps_the_hand_set_order(assistant):
    packaged = RankerModel.load()
    report = packaged.report["cross_validated_by_family"]
    assert report["folds"] == 5 and report["learned"]["n"] == report["hand_set"]["n"] > 100
    assert not any(packaged.coef) and assistant.ranker is None  # nothing to correct: no features read per question
    off = assistant.clone(ranker_model="off")
    for item in QA[:6]:
        learned = [h.row for h in assistant.retrieve(item["question"], 5)]
        assert learned == [h.row for h in off.retrieve(item["question"], 5)]


def test_a_memory_counts_close_paraphrases_and_never_a_question_as_its_own_evidence(assistant):
    bot = assistant
    bot.load_models()
    asked = bot.embedder.query("기초연금은 몇 살부터 받을 수 있나요?")
    memory = LabelMemory.from_items([{"vector": asked, "keys": ["law.md|제3조"]}], bot.embedder.model_id)
    paraphrase = bot.embedder.query("기초연금 받을 수 있는 나이가 몇 살인가요?")
    unrelated = bot.embedder.query("주차 위반 과태료는 얼마인가요?")
    near = memory.features(paraphrase, ["law.md|제3조", "law.md|제9조", "other.md|제3조"])
    assert near[0, 0] > 0 and near[1, 0] == 0 and near[1, 1] == near[0, 1] > 0 and near[2].sum() == 0
    assert memory.features(unrelated, ["law.md|제3조"]).sum() == 0
    assert memory.features(asked, ["law.md|제3조"], leave_out=0).sum() == 0
    again = LabelMemory.from_items(memory.to_json()["items"], bot.embedder.model_id)
    assert np.allclose(again.features(paraphrase, ["law.md|제3조"]), near[:1], atol=1e-3)
    assert MEMORY.stop == len(FEATURES)


# ---------------------------------------------------------------- labels


def test_labels_that_contradict_the_documents_or_each_other_are_set_aside(assistant):
    good = next(x for x in QA if x.get("doc"))
    items = [good,
             dict(good, id="x1", question="없는 문서 질문", doc="없는문서.md"),
             dict(good, id="x2", question="없는 조문 질문", anchor="제999조"),
             dict(good, id="x3", question="두 답 질문", anchor="제1조"),
             dict(good, id="x4", question="두 답 질문", anchor="제2조"),
             dict(good, id="x5", question="", anchor="제2조"),
             {"id": "x6", "question": "이건 문서에 없죠?", "doc": None, "anchor": None, "kind": "unanswerable"}]
    usable, problems = check_labels(assistant.index, items)
    assert [x["id"] for x in usable] == [good["id"], "x6"]
    reasons = {p["id"]: p["problem"] for p in problems}
    assert "색인에 없습니다" in reasons["x1"] and "조문이 문서에 없습니다" in reasons["x2"]
    assert "서로 다른 답" in reasons["x3"] and "서로 다른 답" in reasons["x4"] and "비어" in reasons["x5"]


def test_feedback_refusals_and_labels_flow_through_the_review_queue(own_index):
    bot = own_index
    question = next(x for x in QA if x.get("doc") and x["kind"] == "numeric")
    answer = bot.ask(question["question"])
    bot.save_feedback("down", "전화번호 010-1234-5678로 연락 주세요", question["question"], answer)
    refused = bot.ask("화성 이주 지원금은 얼마인가요?")
    queue = bot.review_queue()
    assert queue[0].origin == "down" and queue[0].question == question["question"]
    assert "010-1234-5678" not in json.dumps(bot.feedback(), ensure_ascii=False)
    if refused.refused:
        assert any(i.origin == "refusal" and "화성" in i.question for i in queue)
    candidates = bot.review_candidates(question["question"])
    assert 1 <= len(candidates) <= 10
    right = next(c for c in candidates if c["source"].endswith(question["doc"]))
    with pytest.raises(BadQuestion):
        bot.label(queue[0], "passage", by="", passage=right)
    label = bot.label(queue[0], "passage", by="검토자 김", passage=right)
    assert set(label) >= {"id", "question", "answer", "doc", "anchor", "kind", "labelled_by", "labelled_at"}
    assert label["anchor"].startswith("제") and " " not in label["anchor"]
    assert all(i.key != queue[0].key for i in bot.review_queue())
    assert bot.labels() == [label]
    events = [e for e in export(audit_path(bot.settings)) if e.get("event") == "label"]
    assert events and label["id"] in events[-1]["answer"]
    other = ReviewItem("k2", "이 조례에 없는 내용은?", "", "sample", "")
    assert bot.label(other, "unanswerable", by="검토자 김")["kind"] == "unanswerable"
    with pytest.raises(BadQuestion):
        bot.label(other, "choose", by="검토자 김", documents=[right["source"]])


# ---------------------------------------------------------------- tune


def test_tune_installs_only_what_beats_the_current_models_on_held_out_folds_and_can_be_undone(own_index):
    bot = own_index
    before = refusal_accuracy(bot, HALF_B)
    unanswerable = [x for x in HALF_B if not x.get("doc")]
    refused_before = refusal_accuracy(bot, unanswerable)
    dry = bot.tune(HALF_A, dry_run=True)
    assert not dry["installed"] and not (bot.settings.index_dir / "tuned" / "ACTIVE").exists()
    result = bot.tune(HALF_A)
    assert {"n", "folds", "before", "after", "installed", "reason", "models"} <= set(result)
    assert result["installed"], result["reason"]  # on this half: its unanswerable and held-out copies refused
    assert result["after"]["refusal_accuracy_with_held_out"] > result["before"]["refusal_accuracy_with_held_out"]
    assert result["models"]["origin"].startswith("tune ")
    info = bot.info()["learned_models"]
    assert info["answerability"]["sha256"] == result["models"]["answerability"]["sha256"]
    register = {m["role"]: m for m in bot.register(public=False)["models"]}
    assert register["답변 가능성 판단(학습)"]["origin"].startswith("tune ")
    # the half tune never saw: more of its unanswerable questions are refused, and no more of it is judged wrongly
    assert refusal_accuracy(bot, unanswerable) > refused_before and refusal_accuracy(bot, HALF_B) >= before
    assert any(e.get("event") == "tune" for e in export(audit_path(bot.settings)))
    undone = bot.undo_tune()
    assert undone["to"] is None and bot.models.origin == "packaged"
    assert refusal_accuracy(bot, HALF_B) == before
    with pytest.raises(ConfigError):
        bot.undo_tune()
    assert [r["action"] for r in bot.tune_history()] == ["install", "undo"]


def test_tune_with_shuffled_labels_changes_nothing(own_index):
    answerable = [x for x in HALF_A if x.get("doc")]
    answers = [(x["doc"], x["anchor"]) for x in answerable]
    shuffled = [dict(x, doc=d, anchor=a) for x, (d, a) in zip(answerable, answers[1:] + answers[:1])]
    result = own_index.tune(shuffled)
    assert not result["installed"] and len(result["set_aside"]) >= len(shuffled) // 2
    assert not (own_index.settings.index_dir / "tuned").exists() or \
        not (own_index.settings.index_dir / "tuned" / "ACTIVE").exists()


def test_tune_on_the_command_line(own_index, tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in HALF_A), encoding="utf-8")
    index = str(own_index.settings.index_dir)
    run = subprocess.run([sys.executable, "-m", "assistant", "tune", str(labels), "--dry-run", "--json",
                          "--index", index], capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["dry_run"] and not data["installed"] and data["n"] == len(HALF_A)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1}\nnot json\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "assistant", "tune", str(broken), "--index", index],
                         capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=300)
    assert run.returncode != 0 and "2번째 줄" in run.stderr
    run = subprocess.run([sys.executable, "-m", "assistant", "tune", "--undo", "--index", index],
                         capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=300)
    assert run.returncode != 0 and "되돌릴 학습 결과가 없습니다" in run.stderr


def test_an_installed_memory_brings_the_labelled_article_first_for_the_same_question_asked_again(own_index):
    """Serving path: a ranker that trusts the memory and a memory of one labelled question, installed as tune
    installs them; asked again in other words, the labelled passage leads though retrieval alone does not even
    find it for the new wording; undone, the order is as before."""
    from assistant.learning.models import install
    from ingest.links import article_of

    bot = own_index
    question = "경로당 냉난방비는 어떻게 지원되나요?"
    before = bot.retrieve(question, 10)
    target = before[-1].chunk  # the tenth candidate: an article the hybrid ranks far down
    key = f"{target.source}|{article_of(target.anchor)}"
    packaged = RankerModel.load()  # (bot.ranker is None: the packaged correction is nothing)
    coef = [0.0] * len(FEATURES)
    coef[FEATURES.index("memory_article")] = 50.0
    trusting = RankerModel(packaged.mean, tuple(1.0 for _ in FEATURES), tuple(coef), packaged.temperature, {})
    memory = LabelMemory.from_items([{"vector": bot.embedder.query(question), "keys": [key]}],
                                    bot.embedder.model_id)
    install(bot.settings.index_dir, {"ranker.json": trusting.to_json(), "memory.json": memory.to_json(),
                                     "answerability.json": bot.answerability.to_json()}, {}, "test")
    bot.forget_models()
    assert bot.models.memory is not None and bot.memory is not None
    again = bot.retrieve("경로당 냉난방비 지원은 어떻게 받나요?", 10)
    assert again[0].chunk.source == target.source and article_of(again[0].chunk.anchor) == article_of(target.anchor)
    bot.undo_tune()
    assert [h.row for h in bot.retrieve(question, 10)] == [h.row for h in before]


def test_a_tuned_model_file_changed_after_install_is_named_not_used(tmp_path):
    from assistant import Settings
    from assistant.learning.models import active_models, install

    settings = Settings.load(env={}, index_dir=tmp_path / "index")
    installed = install(settings.index_dir, {"ranker.json": RankerModel.load().to_json()}, {}, "test")
    assert active_models(settings).ranker.parent.name == installed["stamp"]
    path = settings.index_dir / "tuned" / installed["stamp"] / "ranker.json"
    path.write_text(path.read_text(encoding="utf-8").replace("0.0", "9.0", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="설치 때와 다릅니다"):
        active_models(settings)
