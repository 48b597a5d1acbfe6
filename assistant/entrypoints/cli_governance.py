"""Governance subcommands (`register`, `audit verify`, `audit export`, `audit repair`), added to the main parser by
`cli.build_parser` through `add_commands(sub, common)`. Commands receive `(args, assistant)` like the others."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date

EXAMPLES = {
    "register": "assistant register --index index/ > 등록부.md",
    "verify": "assistant audit verify",
    "export": "assistant audit export --since 2025-01-01 --json",
    "repair": "assistant audit repair",
}


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"날짜는 YYYY-MM-DD 형식으로 적어 주세요: {value}") from exc


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_register(args, assistant) -> int:
    from ..governance.register import build_register, render_markdown

    reg = build_register(assistant)
    if args.json:
        _print_json(reg)
    else:
        print(render_markdown(reg))
    return 0


def cmd_audit_verify(args, assistant) -> int:
    from ..governance.audit import audit_path, verify

    path = audit_path(assistant.settings)
    result = verify(path, args.expect_hash)
    if args.json:
        _print_json({"path": str(path), **result.to_json()})
    elif result.ok:
        pruned = f", 보존기간 정리로 {result.pruned_through}번까지 삭제" if result.pruned_through else ""
        print(f"감사 기록이 온전합니다: {path} (기록 {result.entries}건{pruned})\n"
              f"마지막 순번 {result.last_seq}, 해시 {result.last_hash}\n"
              "이 해시를 서버 밖(결재 문서 등)에 적어 두면 나중에 기록 전체가 다시 쓰였는지도 확인할 수 있습니다 "
              "(--expect-hash).")
    if not result.ok:
        print(f"오류: 감사 기록 검증에 실패했습니다 ({path}): {result.problem}", file=sys.stderr)
        return 1
    return 0


def cmd_audit_repair(args, assistant) -> int:
    from ..governance.audit import audit_path, repair

    path = audit_path(assistant.settings)
    result = repair(path)  # AuditError (Korean message, exit 1) when more than an unfinished last line is wrong
    if args.json:
        _print_json({"path": str(path), **result})
    elif result["repaired"]:
        print(f"쓰다가 중단된 마지막 줄({result['torn_bytes']}바이트)을 {result['moved_to']}(으)로 옮겼습니다. "
              f"기록은 {result['last_seq']}번까지 온전합니다.")
    else:
        print(f"고칠 것이 없습니다: {path}" + (f" (검증 문제: {result['problem']})" if result.get("problem") else ""))
    return 0


def cmd_audit_export(args, assistant) -> int:
    from ..governance.audit import audit_path, export, verify

    path = audit_path(assistant.settings)
    rows = export(path, args.since)
    check = verify(path)
    if args.json:
        _print_json({"path": str(path), "verified": check.ok, "problem": check.problem, "entries": rows})
    else:
        for r in rows:
            cites = ", ".join(f"{c['source']} {c['anchor']}" for c in r.get("citations", [])) or "-"
            state = "거절" if r.get("refused") else "답변"
            print(f"{r['seq']}\t{r['time']}\t{r['mode']}/{r['role']}\t{state}\t{r['question']}\t{cites}")
        print(f"{len(rows)}건", file=sys.stderr)
    if not check.ok:
        print(f"경고: 감사 기록 검증에 실패했습니다: {check.problem}", file=sys.stderr)
    return 0


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    """Adds `register` and `audit {verify,export,repair}` to the main parser's subparsers."""
    help_text = "이 설치본의 AI 활용 등록부를 만듭니다 (기본: 한국어 Markdown, --json)"
    p = sub.add_parser("register", parents=[common], help=help_text, description=help_text,
                       epilog=f"예: {EXAMPLES['register']}")
    p.set_defaults(func=cmd_register)

    help_text = "감사 기록(해시 체인)을 검증하거나 내보냅니다"
    audit = sub.add_parser("audit", help=help_text, description=help_text)
    actions = audit.add_subparsers(dest="audit_command", required=True)
    help_text = "감사 기록의 해시 체인을 검증합니다 (문제가 있으면 종료 코드 1)"
    p = actions.add_parser("verify", parents=[common], help=help_text, description=help_text,
                           epilog=f"예: {EXAMPLES['verify']}")
    p.add_argument("--expect-hash", help="예전에 서버 밖에 적어 둔 해시: 기록 안에 있어야 합니다")
    p.set_defaults(func=cmd_audit_verify)
    help_text = "감사 기록을 내보냅니다 (개인정보는 이미 가려져 있음)"
    p = actions.add_parser("export", parents=[common], help=help_text, description=help_text,
                           epilog=f"예: {EXAMPLES['export']}")
    p.add_argument("--since", type=_date, help="이 날짜(UTC, YYYY-MM-DD)부터의 기록만")
    p.set_defaults(func=cmd_audit_export)
    help_text = "쓰다가 중단된 마지막 줄만 따로 옮겨 감사 기록을 다시 쓸 수 있게 합니다 (그 밖의 손상은 고치지 않음)"
    p = actions.add_parser("repair", parents=[common], help=help_text, description=help_text,
                           epilog=f"예: {EXAMPLES['repair']}")
    p.set_defaults(func=cmd_audit_repair)
