"""`assistant index verify`: every kept generation's files against the sizes and checksums their manifest recorded,
and the embedding cache's own check; exit 1 naming each damaged file, like `audit verify`. Added to the main parser
by `cli.build_parser` through `add_commands(sub, common)`."""
from __future__ import annotations

import json
import sys

EXAMPLE = "assistant index verify --index index/ --json"


def cmd_index_verify(args, assistant) -> int:
    from ..index.integrity import verify
    from ..index.space import mb

    result = verify(assistant.settings.index_dir)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for gen in result["generations"]:
            state = "온전함" if gen["ok"] else "손상"
            how = "체크섬까지 확인" if gen["checksums"] else "크기·머리글만 확인 (체크섬이 기록되지 않은 이전 형식)"
            print(f"{'*' if gen['live'] else ' '} {gen['generation']}: {state} — {how}, {mb(gen['bytes'])}, "
                  f"{gen['seconds']:.2f}초")
        cache = result["cache"]
        if cache["present"]:
            print(f"  {cache['file']}: {'온전함' if cache['ok'] else '손상'} (SQLite 검사)")
    problems = [f"{gen['generation']}/{p['file']}: {p['problem']}" for gen in result["generations"]
                for p in gen["problems"]] + result.get("problems", [])
    if not result["cache"]["ok"]:
        problems.append(f"{result['cache']['file']}: {result['cache'].get('problem')}")
    for problem in problems:
        print(f"오류: 색인 파일이 손상되었습니다 ({result['index']}): {problem}", file=sys.stderr)
    if not any(g["live"] and g["ok"] for g in result["generations"]) and not problems:
        print(f"오류: 현재 세대를 찾을 수 없습니다 ({result['index']})", file=sys.stderr)
    if not result["ok"]:
        print("고치는 방법: `assistant ingest --rebuild`로 원본 문서에서 새 세대를 만듭니다 (손상된 파일은 쓰지 않음).",
              file=sys.stderr)
        return 1
    return 0


def add_commands(sub, common) -> None:
    p = sub.add_parser("index", help="색인 파일을 점검합니다", description="색인 파일을 점검합니다")
    inner = p.add_subparsers(dest="index_command", required=True)
    v = inner.add_parser("verify", parents=[common], help="모든 세대의 파일을 기록된 크기·체크섬과 대조 (손상 시 종료 코드 1)",
                         description="모든 세대의 파일을 기록된 크기·체크섬과 대조합니다 (손상 시 종료 코드 1)",
                         epilog=f"예: {EXAMPLE}")
    v.set_defaults(func=cmd_index_verify)
