"""`python -m assistant.keys new --role staff`: a new API key and the settings line that admits it. Only the key's
SHA-256 goes into settings; the key is shown once, here."""
from __future__ import annotations

import argparse
import hashlib
import secrets

ROLES = ("kiosk", "staff", "admin")


def new_key(role: str) -> tuple[str, str]:
    """(key, "role:sha256hex") for ASSISTANT_API_KEYS."""
    key = f"ga-{role}-{secrets.token_urlsafe(32)}"
    return key, f"{role}:{hashlib.sha256(key.encode()).hexdigest()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.keys", description="API 키를 만듭니다")
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("new", help="새 키와 설정 줄을 출력합니다")
    made.add_argument("--role", choices=ROLES, required=True)
    args = parser.parse_args(argv)
    key, entry = new_key(args.role)
    print(f"키 (한 번만 보입니다): {key}")
    print(f"설정: ASSISTANT_API_KEYS=\"{entry}\"  (여러 개는 쉼표로 잇습니다)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
