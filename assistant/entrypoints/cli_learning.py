"""`assistant tune LABELLED.jsonl [--dry-run]` and `assistant tune --undo`: re-fit the learned ranker and the
answerability model on an organisation's labelled questions (assistant/learning/tune.py).

Wired into cli.py's parser with `add_commands(sub, common)`; commands receive (args, assistant) like the others."""
from __future__ import annotations

import json

from ..errors import BadQuestion

EXAMPLE = "assistant tune feedback/labels.jsonl --dry-run --json   (되돌리기: assistant tune --undo)"


def cmd_tune(args, assistant) -> int:
    from ..evaluation.evaluate import load_qa

    if args.undo:
        done = assistant.undo_tune(by="cli")
        data, human = done, f"되돌렸습니다: {done['from']} → {done['to'] or '기본(패키지) 모델'}"
    else:
        if not args.labels:
            raise BadQuestion("라벨 파일(JSONL)을 지정해 주세요. 예: " + EXAMPLE)
        data = assistant.tune(load_qa(args.labels), dry_run=args.dry_run, by="cli")
        human = summary(data)
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else human)
    return 0


def figure(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def summary(data: dict) -> str:
    lines = [f"라벨 {data['n']}개 중 {data['usable']}개 사용 (제외 {len(data['set_aside'])}개)"]
    lines += [f"  제외: {p['id']} — {p['problem']}" for p in data["set_aside"][:10]]
    before, after = data.get("before"), data.get("after")
    if before and after:
        lines.append(f"보류한 폴드({data['folds']}개)에서  전 → 후")
        for key in ("recall@1", "mrr", "refusal_accuracy", "answerable_refused", "refusal_accuracy_with_held_out"):
            lines.append(f"  {key:<30} {figure(before.get(key))} → {figure(after.get(key))}")
    lines.append(("설치함: " + data.get("stamp", "")) if data["installed"] else "설치하지 않음")
    lines.append(f"이유: {data['reason']}")
    return "\n".join(lines)


def add_commands(sub, common) -> None:
    help_text = "기관이 라벨을 붙인 질문으로 순위·답변 가능성 모델을 다시 맞춥니다 (교차 검증에서 나아질 때만 설치)"
    p = sub.add_parser("tune", parents=[common], help=help_text, description=help_text, epilog=f"예: {EXAMPLE}")
    p.add_argument("labels", nargs="?", help="라벨 파일(JSONL, 평가 세트 형식; 관리자 화면의 검토 대기열이 씀)")
    p.add_argument("--dry-run", action="store_true", help="재기만 하고 설치하지 않음")
    p.add_argument("--undo", action="store_true", help="마지막 tune 전의 모델로 되돌림")
    p.set_defaults(func=cmd_tune)
