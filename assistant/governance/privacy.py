"""Personal-data masking for Korean text: one component used for user input, logs and the audit trail.

Answers shown to users are not masked (they quote public documents); what is *stored* is. The patterns lean
towards masking when a number looks personal, but leave alone what official documents are full of: statute
references (제5조제2항), dates (2025-01-01), money (30만원, 1,000,000원), percentages, and office phone numbers
written after ☎ (public contacts, not personal data; mobile numbers are masked even after ☎).
"""
from __future__ import annotations

import logging
import re
from typing import NamedTuple

PLACEHOLDER = "[{}]"
RRN, FOREIGN_RRN = "주민등록번호", "외국인등록번호"
PHONE, EMAIL, CARD, ACCOUNT, ADDRESS = "전화번호", "이메일", "카드번호", "계좌번호", "주소"

_D = r"(?<![\d-])"  # not inside a longer number
_E = r"(?![\d-])"
_SEP = r"[-\s.]?"
# YYMMDD, then the 7th digit (1-4 citizens, 5-8 registered foreigners); the rest may already be starred out
_RRN = re.compile(_D + r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?-?\s?([1-8])(?:\d{6}|\*{6})(?![\d*])")
_CARD = re.compile(_D + r"(?:\d{4}([-\s]?)\d{4}\1\d{4}\1\d{4}|\d{4}-\d{6}-\d{5})" + _E)
_MOBILE = re.compile(_D + r"(?:\+82[-\s]?|0)1[016789][-\s.)]?\d{3,4}" + _SEP + r"\d{4}" + _E)
# Seoul 02, provinces 031-064, internet 070, personal 050x; an area code in brackets too
_LANDLINE = re.compile(r"(?:(?<![\d-])(?:\+82[-\s]?|0)(?:2|[3-6][1-5]|70|50\d)[-\s.)]?|\(0(?:2|[3-6][1-5]|70)\)\s?)"
                       r"\d{3,4}" + _SEP + r"\d{4}" + _E)
_OFFICIAL = re.compile(r"☎\s*$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# bank accounts: three to five hyphenated groups, 10-14 digits in all (dates have 8, phones are taken first)
_ACCOUNT = re.compile(_D + r"\d{2,6}(?:-\d{2,8}){2,4}" + _E)
# without hyphens (or with only two groups) a number is an account only when the text says so just before it
_ACCOUNT_CTX = re.compile(r"(?:계좌|통장|입금|예금|은행|농협|신협|수협|신한|카카오뱅크|케이뱅크|토스뱅크|새마을금고|우체국)"
                          r"[^\d\n]{0,12}(?<![\d-])(\d[\d-]{8,18}\d)" + _E)
_UNIT = (r"(?!\s?(?:만|천|백|억|원|세|살|명|인|%|퍼센트|개월|년|월|일|주|시간|시|분|초|회|번째|차|부|건|가지|조|항|호|"
         r"등급|등|위|단계|학년|급|종|배|층|kg|km|m\b|개|대|장))")
# road-name address: at least two syllables before 로/길 (so 바로, 서로, 새로 never match), then the building number
_ROAD = re.compile(r"(?<![가-힣])([가-힣]{2,10}\d{0,3}(?:로|길))\s?(?:\d{1,4}(?:번길|번안길|가길)\s?)?\d{1,4}(?:-\d{1,4})?"
                   + _UNIT + r"(?![-\d])")
# adverbs and nouns that end in 로 but are no road
_NOT_ROAD = {"추가로", "별도로", "무료로", "유료로", "대체로", "실제로", "정말로", "스스로", "제대로", "그대로", "마음대로",
             "최대로", "최소로", "최초로", "임의로", "전화로", "팩스로", "문자로", "메일로", "우편로", "서류로", "자료로",
             "기준로", "비율로", "대리로", "세대로", "가구로", "단위로", "차례로", "순서로", "계좌로", "이메일로"}
# lot-number address: …동/리/가 + 번지, or a hyphenated lot number; apartment 101동 1004호
_LOT = re.compile(r"(?<![가-힣])[가-힣]{1,8}\d{0,2}(?:동|리|가)\s?\d{1,5}(?:-\d{1,5})?\s?번지"
                  r"|(?<![가-힣])[가-힣]{1,8}\d{0,2}(?:동|리)\s?\d{1,5}-\d{1,5}" + _UNIT + r"(?![\d가-힣])"
                  r"|(?<!\d)\d{1,4}동\s?\d{1,5}호")


class PiiMatch(NamedTuple):
    kind: str
    span: tuple[int, int]


def _candidates(text: str):
    """(kind, start, end, official) in priority order: an earlier kind wins an overlap."""
    for m in _ACCOUNT_CTX.finditer(text):  # "계좌 …" outweighs a 13-digit number that happens to parse as a date
        if 10 <= sum(ch.isdigit() for ch in m.group(1)) <= 14:
            yield ACCOUNT, m.start(1), m.end(1), False
    for m in _RRN.finditer(text):
        yield (FOREIGN_RRN if m.group(1) in "5678" else RRN), m.start(), m.end(), False
    for m in _CARD.finditer(text):
        yield CARD, m.start(), m.end(), False
    for m in _MOBILE.finditer(text):
        yield PHONE, m.start(), m.end(), False
    for m in _LANDLINE.finditer(text):
        yield PHONE, m.start(), m.end(), bool(_OFFICIAL.search(text[max(0, m.start() - 4):m.start()]))
    for m in _EMAIL.finditer(text):
        yield EMAIL, m.start(), m.end(), False
    for m in _ACCOUNT.finditer(text):
        if 10 <= sum(ch.isdigit() for ch in m.group(0)) <= 14:
            yield ACCOUNT, m.start(), m.end(), False
    for m in _ROAD.finditer(text):
        if m.group(1) not in _NOT_ROAD and not m.group(1).endswith("으로"):
            yield ADDRESS, m.start(), m.end(), False
    for m in _LOT.finditer(text):
        yield ADDRESS, m.start(), m.end(), False


def find_pii(text: str) -> list[PiiMatch]:
    """Personal data in `text`, as (kind, (start, end)) sorted by position, never overlapping."""
    taken: list[tuple[int, int, str, bool]] = []
    for kind, start, end, official in _candidates(text or ""):
        if all(end <= s or start >= e for s, e, _, _ in taken):
            taken.append((start, end, kind, official))
    # an official ☎ number still claims its span, so no weaker pattern (account) masks it instead
    return [PiiMatch(kind, (s, e)) for s, e, kind, official in sorted(taken) if not official]


def mask_pii(text: str) -> str:
    """`text` with each piece of personal data replaced by its typed placeholder, e.g. `[주민등록번호]`."""
    if not text:
        return text
    out, last = [], 0
    for kind, (start, end) in find_pii(text):
        out += [text[last:start], PLACEHOLDER.format(kind)]
        last = end
    return "".join(out) + text[last:]


def mask_value(value):
    """Masks every string inside a JSON-like value (dicts, lists, tuples)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value


_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class PiiLogFilter(logging.Filter):
    """Masks the message and string `extra` fields of every record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        if isinstance(record.msg, str):
            record.msg = mask_pii(record.msg)
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS and isinstance(value, (str, dict, list)):
                setattr(record, key, mask_value(value))
        return True
