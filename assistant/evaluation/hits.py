"""DESIGN.md's hit rule: whether a retrieved chunk or a citation lies where a QA item expects its answer. Shared by
the evaluation (evaluate.py), the conversation evaluation (conversations.py) and the load bench (load.py)."""
from __future__ import annotations

import re

ARTICLE = re.compile(r"^(제\d+조(?:의\d+)?)")


def is_hit(source: str, chunk_anchor: str, doc: str | None, anchor: str | None) -> bool:
    """DESIGN.md's rule: same document, and the chunk lies in the expected article; for a guide's heading path
    (`서비스 > 지원 대상`) the same service and the same section — a chunk spanning several sections
    (`서비스 > 문의처, 법적 근거`, or the whole service) hits when the section is among them; a citation, whose anchor
    always names its own section, only when it names that one."""
    if not doc or not source.endswith(doc):
        return False
    if not anchor:
        return True
    m = ARTICLE.match(anchor)
    if m:
        found = ARTICLE.match(chunk_anchor)
        return bool(found) and found.group(1) == m.group(1)
    expected = [part.strip() for part in anchor.split(" > ")]
    found = [part.strip() for part in chunk_anchor.split(" > ")]
    if expected[0] not in found:
        return False
    if len(expected) < 2 or len(found) < 2:
        return True  # a service-only anchor asked, or a chunk that is the whole service (every section in it)
    return expected[-1] in [x.strip() for x in found[-1].split(",")]
