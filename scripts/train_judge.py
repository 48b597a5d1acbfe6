"""Train the question–passage judge (#25) on data from `scripts/make_judge_data.py`.

    python scripts/make_judge_data.py ../shared/train/statutes --out judge.jsonl
    python scripts/train_judge.py judge.jsonl --work runs/judge --steps 3000      # CPU, resumable
    python scripts/train_judge.py judge.jsonl --work runs/judge --steps 20000 --layers 12 --device cuda

Each step reads whole groups (a made question, its positive and its hard negatives) and minimises a listwise
softmax loss over the group (rank the passage that answers first) plus a pointwise logistic loss (a score that
also means "answers / does not" across questions, which the answerability model uses). Questions are shortened and
thinned at random (seeded) so that the judge cannot lean on a made question repeating its sentence word for word,
which real questions never do. Families of statutes (a 법률 with its 시행령 and 시행규칙) are split between training
and validation, so the curve is measured on statutes the judge never read. A checkpoint is written every
`--save-every` steps; running the same command again resumes from it. The result is the delta file the product
ships (`assistant/index/judge.py`)."""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from assistant.errors import ConfigError  # noqa: E402
from assistant.evaluation.evaluate import family_of_file  # noqa: E402  (law_X.md, decree_X_시행령.md -> X)
from assistant.index import judge as judge_model  # noqa: E402


class CheckpointMismatch(ConfigError):
    """A checkpoint in --work written for another shape of judge (another --layers, or another base model):
    resuming from it would train a mix of its weights and fresh ones."""


def resume_weights(model, saved: dict, path: Path) -> None:
    """Loads a checkpoint's weights, which must be exactly what training changes in this model (`trained_state`:
    all but the frozen word embeddings), each of the same shape; anything else is refused with what differs."""
    expected = judge_model.trained_state(model)
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    reshaped = sorted(name for name in set(expected) & set(saved)
                      if tuple(saved[name].shape) != tuple(expected[name].shape))
    if missing or extra or reshaped:
        def some(names: list[str]) -> str:
            return ", ".join(names[:3]) + (f" 외 {len(names) - 3}개" if len(names) > 3 else "")

        parts = [f"{label} {len(names)}개 ({some(names)})" for label, names in
                 (("없는 가중치", missing), ("남는 가중치", extra), ("모양이 다른 가중치", reshaped)) if names]
        raise CheckpointMismatch(
            f"체크포인트 {path}는 이 설정의 판단 모델과 구조가 다릅니다: {'; '.join(parts)}. 이어서 학습하려면 처음과 같은 "
            f"--layers로 실행하고, 새로 학습하려면 다른 --work 폴더를 쓰거나 체크포인트를 지우세요.")
    model.load_state_dict({**model.state_dict(), **saved})


def read_groups(path: Path, validation_share: float) -> tuple[list[list[dict]], list[list[dict]]]:
    """Groups of examples (positive first), split by family of the positive's statute."""
    groups: dict[str, list[dict]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            example = json.loads(line)
            groups[example["group"]].append(example)
    train, held = [], []
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda e: -e["label"])
        if sum(e["label"] for e in group) != 1 or len(group) < 2:
            continue  # a ranking needs exactly one passage that answers
        bucket = zlib.crc32(family_of_file(group[0]["source"]).encode()) % 1000 / 1000
        (held if bucket < validation_share else train).append(group)
    return train, held


def roughen(question: str, rng: random.Random) -> str:
    """A made question as a person might shorten it: half the time only the words around the question word are
    kept, and some other words are dropped. The question word itself always stays."""
    words = question.split()
    if len(words) <= 4:
        return question
    asked = next((i for i, w in enumerate(words) if any(q in w for q in ("며칠", "얼마", "몇", "언제", "무엇", "란"))),
                 len(words) - 1)
    if rng.random() < 0.5:
        start = max(0, asked - rng.randint(3, 7))
        words, asked = words[start:asked + 2], asked - start
    kept = [w for i, w in enumerate(words) if i == asked or rng.random() > 0.2]
    return " ".join(kept) if len(kept) >= 2 else question


def batches(groups: list[list[dict]], per_batch: int, negatives: int, rng: random.Random):
    """Endless: shuffled groups, each cut to its positive and `negatives` negatives."""
    while True:
        order = list(range(len(groups)))
        rng.shuffle(order)
        for start in range(0, len(order) - per_batch + 1, per_batch):
            chosen = []
            for i in order[start:start + per_batch]:
                positive, rest = groups[i][0], groups[i][1:]
                chosen.append([positive] + rng.sample(rest, min(negatives, len(rest))))
            yield chosen


def loss_of(model, chosen: list[list[dict]], rng: random.Random | None, device: str):
    pairs, sizes = [], []
    for group in chosen:
        question = roughen(group[0]["question"], rng) if rng else group[0]["question"]
        pairs += [(question, e["passage"]) for e in group]
        sizes.append(len(group))
    features = {k: v.to(device) if hasattr(v, "to") else v for k, v in model.preprocess(pairs).items()}
    scores = model(features)["scores"].view(-1)
    labels = torch.tensor([e["label"] for g in chosen for e in g], dtype=torch.float32, device=device)
    listwise = torch.stack([torch.nn.functional.cross_entropy(s.unsqueeze(0), torch.zeros(1, dtype=torch.long,
                                                                                            device=device))
                            for s in torch.split(scores, sizes)]).mean()
    pointwise = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels)
    return listwise + pointwise, scores.detach().float().cpu().numpy(), labels.cpu().numpy(), sizes


@torch.no_grad()
def validate(model, held: list[list[dict]], device: str, per_batch: int) -> dict:
    model.eval()
    all_scores, all_labels, top1 = [], [], []
    for start in range(0, len(held), per_batch):
        _, scores, labels, sizes = loss_of(model, held[start:start + per_batch], None, device)
        all_scores.append(scores)
        all_labels.append(labels)
        top1 += [float(np.argmax(s) == 0) for s in np.split(scores, np.cumsum(sizes)[:-1])]
    model.train()
    return {"auc": round(float(roc_auc_score(np.concatenate(all_labels), np.concatenate(all_scores))), 4),
            "top1": round(float(np.mean(top1)), 4), "groups": len(held)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="JSONL from scripts/make_judge_data.py")
    p.add_argument("--work", type=Path, required=True, help="folder for the checkpoint, the curve and the result")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--layers", type=int, default=4, help="first encoder layers of e5-small kept (1-12)")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--groups-per-step", type=int, default=4)
    p.add_argument("--negatives", type=int, default=4)
    p.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    p.add_argument("--head-lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--validation-share", type=float, default=0.05, help="share of statute families held out")
    p.add_argument("--validate-every", type=int, default=250)
    p.add_argument("--validation-groups", type=int, default=300)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="the delta file to write at the end (default: WORK/judge.safetensors)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    train, held = read_groups(args.data, args.validation_share)
    held = random.Random(args.seed).sample(held, min(args.validation_groups, len(held)))
    print(f"groups: {len(train)} training, {len(held)} validation (families held out)", flush=True)

    model = judge_model.fresh(args.layers, args.max_length).to(args.device)
    model.train()
    words = [p_ for name, p_ in model.named_parameters() if name.endswith(judge_model.WORDS)]
    for w in words:
        w.requires_grad_(False)
    head = [p_ for name, p_ in model.named_parameters() if name.startswith("2.")]
    body = [p_ for name, p_ in model.named_parameters() if p_.requires_grad and not name.startswith("2.")]
    optimiser = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}],
                                  weight_decay=0.01)
    warm = max(1, int(args.warmup * args.steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (args.steps - s) / max(1, args.steps - warm))))

    args.work.mkdir(parents=True, exist_ok=True)
    checkpoint, curve_path = args.work / "checkpoint.pt", args.work / "curve.jsonl"
    step, rng = 0, random.Random(args.seed)
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location=args.device, weights_only=False)
        try:
            resume_weights(model, state["model"], checkpoint)
        except CheckpointMismatch as exc:
            print(f"오류: {exc}", file=sys.stderr, flush=True)
            return exc.exit_code
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}", flush=True)
    stream = batches(train, args.groups_per_step, args.negatives, rng)
    if step == 0:
        curve_path.write_text(json.dumps({"step": 0, **validate(model, held, args.device, 16)}) + "\n")
    started, recent = time.time(), []
    while step < args.steps:
        loss, *_ = loss_of(model, next(stream), rng, args.device)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(body + head, 1.0)
        optimiser.step()
        schedule.step()
        step += 1
        recent.append(loss.item())
        if step % args.validate_every == 0 or step == args.steps:
            point = {"step": step, "loss": round(float(np.mean(recent)), 4), **validate(model, held, args.device, 16),
                     "pairs_per_s": round(len(recent) * args.groups_per_step * (args.negatives + 1)
                                          / (time.time() - started), 1)}
            with curve_path.open("a") as fh:
                fh.write(json.dumps(point) + "\n")
            print(json.dumps(point), flush=True)
            started, recent = time.time(), []
        if step % args.save_every == 0 or step == args.steps:
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"model": judge_model.trained_state(model), "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "rng": rng.getstate(),
                        "torch_rng": torch.get_rng_state()}, tmp)
            tmp.replace(checkpoint)  # a run killed mid-write resumes from the previous checkpoint
    out = args.out or args.work / "judge.safetensors"
    meta = {"layers": args.layers, "max_length": args.max_length, "steps": args.steps, "seed": args.seed,
            "data": args.data.name, "groups_per_step": args.groups_per_step, "negatives": args.negatives,
            "lr": args.lr, "head_lr": args.head_lr, "device": args.device,
            "validation": json.loads(curve_path.read_text().splitlines()[-1])}
    judge_model.save_delta(model, out, meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
