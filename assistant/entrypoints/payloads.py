"""JSON shapes the command line and the HTTP API share (one module both import, so neither imports the other)."""
from __future__ import annotations


def hit_json(hit) -> dict:
    c = hit.chunk
    return {"source": c.source, "title": c.title, "anchor": c.anchor, "page": c.page, "score": round(hit.score, 5),
            "text": c.text, "doc_type": c.doc_type, "department": c.department, "effective_date": c.effective_date}
