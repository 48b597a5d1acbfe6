"""Article-level differences between two versions of a document: 제5조 개정, 제7조의2 신설, 제9조 삭제."""
from __future__ import annotations

import re
from collections.abc import Iterable

from .types import Chunk

ARTICLE_KEY = re.compile(r"^((?:부칙(?:<[^>]*>)?\s)?제\d+조(?:의\d+)?)")


def _by_unit(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Text per article (statutes) or per section/service (other documents), pieces joined in order."""
    out: dict[str, list[str]] = {}
    for c in chunks:
        m = ARTICLE_KEY.match(c.anchor)
        key = m.group(1) if m else c.anchor.split(" > ")[0]
        body = c.text.split("\n", 1)[-1]  # the repeated heading of split articles is not content
        out.setdefault(key, []).append(body)
    return {k: "\n".join(v) for k, v in out.items()}


def article_diff(old: list[Chunk], new: list[Chunk]) -> list[str]:
    """Human-readable changes in document order, e.g. ['제5조 개정', '제7조의2 신설', '시행일 변경 …']."""
    before, after = _by_unit(old), _by_unit(new)
    changes = []
    for key, text in after.items():
        if key not in before:
            changes.append(f"{key} 신설")
        elif re.sub(r"\s+", "", before[key]) != re.sub(r"\s+", "", text):
            changes.append(f"{key} 개정")
    changes += [f"{key} 삭제" for key in before if key not in after]
    old_date = old[0].effective_date if old else None
    new_date = new[0].effective_date if new else None
    if old and new and old_date != new_date:
        changes.append(f"시행일 변경 {old_date or '미상'} → {new_date or '미상'}")
    return changes
