"""`assistant welfare PROFILE.json [--json]`: services a citizen may be eligible for (see assistant/welfare.py).

Wired into cli.py's parser with `add_commands(sub, common)`; commands receive (args, assistant) like the others."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..welfare.services import ELIGIBLE_KO, EMPLOYMENT_KO, HOUSEHOLD_KO, BadProfile, find

EXAMPLE = "assistant welfare profile.json --json   (프로필 예: {\"age\": 72, \"household_type\": \"single\", " \
          "\"income_ratio\": 40})"


def read_profile(path: str) -> dict:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadProfile(f"프로필 파일을 읽을 수 없습니다: {path} ({exc.strerror or exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadProfile(f"프로필 파일이 올바른 JSON이 아닙니다: {path} ({exc.lineno}번째 줄)") from exc


def describe(profile: dict) -> str:
    bits = []
    if profile.get("age") is not None:
        bits.append(f"{profile['age']}세")
    if profile.get("household_type"):
        bits.append(HOUSEHOLD_KO.get(profile["household_type"], profile["household_type"]))
    if profile.get("income_ratio") is not None:
        bits.append(f"기준 중위소득 {profile['income_ratio']}%")
    if profile.get("children"):
        bits.append(f"자녀 {profile['children']}명")
    if profile.get("disability"):
        bits.append("장애 있음")
    if profile.get("pregnant"):
        bits.append("임신 중")
    if profile.get("employment"):
        bits.append(EMPLOYMENT_KO.get(profile["employment"], profile["employment"]))
    return " · ".join(bits) or "입력한 정보 없음"


def human(profile: dict, data: dict) -> str:
    shown = [s for s in data["services"] if s["eligible"] != "no"]
    lines = [f"맞춤형 복지 서비스 찾기 ({describe(profile)})", ""]
    for i, s in enumerate(shown, 1):
        lines.append(f"{i}. {s['name']} — {ELIGIBLE_KO[s['eligible']]}")
        verdict = f"{s['name']}: {ELIGIBLE_KO[s['eligible']]}. "
        lines.append(f"   이유: {s['why'].removeprefix(verdict)}")
        if s["missing"]:
            lines.append(f"   더 알려 주시거나 확인할 것: {', '.join(s['missing'])}")
        if s["apply"]:
            lines.append(f"   신청: {s['apply']}")
        if s["documents"]:
            lines.append(f"   서류: {', '.join(s['documents'])}")
        lines.append(f"   문의: {s['contact'] or s['department'] or '안내문에 문의처가 없습니다'}")
        for anchor, source, page in dict.fromkeys((c["anchor"], c["source"], c["page"]) for c in s["citations"]):
            lines.append(f"   근거: [{anchor}] {source}" + (f", {page}쪽" if page else ""))
        lines.append("")
    if not shown:
        lines.append("조건이 맞는 서비스를 찾지 못했습니다. 가까운 행정복지센터나 보건복지상담센터(☎ 129)에 문의하세요.")
    others = [s["name"] for s in data["services"] if s["eligible"] == "no"]
    if others:
        lines.append(f"조건이 맞지 않는 서비스: {', '.join(others)}")
    lines.append("※ 안내문의 조건으로 미리 살펴본 결과입니다. 실제 자격은 신청 후 담당 부서의 조사로 결정됩니다.")
    return "\n".join(lines)


def cmd_welfare(args, assistant) -> int:
    profile = read_profile(args.profile)
    data = find(assistant, profile)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(human(profile, data))
    return 0


def add_commands(sub, common) -> None:
    help_text = "프로필(JSON)에 맞는 복지 서비스를 찾고 근거 안내문을 인용합니다"
    p = sub.add_parser("welfare", parents=[common], help=help_text, description=help_text, epilog=f"예: {EXAMPLE}")
    p.set_defaults(func=cmd_welfare)
    p.add_argument("profile", help="프로필 JSON 파일 경로 (- 이면 표준 입력)")
