"""Admin password hashes: `pbkdf2_sha256$iterations$salt_hex$hash_hex`. The plain password is never stored.

Create one for the settings file (`admin_password_hash`):

    python -m ui.admin_hash            # asks twice, prints the hash
    echo -n 'secret' | python -m ui.admin_hash --stdin
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import os
import sys

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000


def make_hash(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    if not password:
        raise ValueError("비밀번호가 비어 있습니다.")
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; a malformed or empty hash never matches."""
    try:
        algorithm, iterations, salt_hex, hash_hex = (stored or "").strip().split("$")
        if algorithm != ALGORITHM or not password:
            return False
        expected = bytes.fromhex(hash_hex)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def is_valid(stored: str) -> bool:
    parts = (stored or "").strip().split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
        return False
    try:
        return bool(bytes.fromhex(parts[2])) and bool(bytes.fromhex(parts[3]))
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.admin_hash",
                                     description="관리자 비밀번호 해시를 만듭니다 (설정 admin_password_hash에 넣을 값).")
    parser.add_argument("--stdin", action="store_true", help="비밀번호를 표준 입력에서 읽음")
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    args = parser.parse_args(argv)
    if args.stdin:
        password = sys.stdin.read().rstrip("\n")
    else:
        password = getpass.getpass("관리자 비밀번호: ")
        if getpass.getpass("한 번 더: ") != password:
            print("두 비밀번호가 다릅니다.", file=sys.stderr)
            return 1
    if len(password) < 8:
        print("비밀번호는 8자 이상이어야 합니다.", file=sys.stderr)
        return 1
    value = make_hash(password, args.iterations)
    print(value)
    print(f'# assistant.toml의 [assistant] 아래에: admin_password_hash = "{value}"', file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
