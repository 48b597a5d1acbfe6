"""Ingest history and superseded versions, kept beside the generations in INDEX/history.sqlite.

`runs` is what the admin page shows (who, when, which files, which versions); `superseded` keeps the text of
amended or removed documents so staff can still ask for the version before an amendment."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from ingest import Chunk


class History:
    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / "history.sqlite")
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, at TEXT, by TEXT, generation TEXT,"
                            " report TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS changes (run INTEGER, source TEXT, change TEXT, "
                            "old_sha TEXT, new_sha TEXT, articles TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS superseded (source TEXT, title TEXT, anchor TEXT, text TEXT, "
                            "content_sha256 TEXT, effective_date TEXT, superseded_at TEXT)")

    def record(self, by: str, generation: str, report: dict, changes: list[dict], superseded: list[Chunk]) -> int:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            run = self.db.execute("INSERT INTO runs (at, by, generation, report) VALUES (?, ?, ?, ?)",
                                  (now, by, generation, json.dumps(report, ensure_ascii=False))).lastrowid
            self.db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)",
                                [(run, c["source"], c["change"], c.get("old_sha"), c.get("new_sha"),
                                  json.dumps(c.get("articles", []), ensure_ascii=False)) for c in changes])
            self.db.executemany("INSERT INTO superseded VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(c.source, c.title, c.anchor, c.text, c.content_sha256, c.effective_date, now)
                                 for c in superseded])
        return run

    def runs(self, limit: int = 50) -> list[dict]:
        rows = self.db.execute("SELECT id, at, by, generation, report FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        out = []
        for run, at, by, gen, report in rows.fetchall():
            changes = [{"source": s, "change": c, "old_sha": o, "new_sha": n, "articles": json.loads(a)}
                       for s, c, o, n, a in self.db.execute(
                           "SELECT source, change, old_sha, new_sha, articles FROM changes WHERE run = ?", (run,))]
            out.append({"id": run, "at": at, "by": by, "generation": gen, "report": json.loads(report),
                        "changes": changes})
        return out

    def recent_changes(self, source: str, since: str) -> list[str]:
        """Articles of `source` amended, added or removed since an ISO time."""
        rows = self.db.execute("SELECT c.articles FROM changes c JOIN runs r ON r.id = c.run "
                               "WHERE c.source = ? AND r.at >= ?", (source, since))
        return [a for (articles,) in rows for a in json.loads(articles)]

    def previous(self, title: str, article: str) -> list[dict]:
        """Superseded text of one article (newest first), for '개정 전 제5조'."""
        rows = self.db.execute("SELECT source, title, anchor, text, effective_date, superseded_at FROM superseded "
                               "WHERE replace(title, ' ', '') = ? AND (anchor = ? OR anchor LIKE ?) "
                               "ORDER BY superseded_at DESC", (title.replace(" ", ""), article, article + " %"))
        keys = ("source", "title", "anchor", "text", "effective_date", "superseded_at")
        return [dict(zip(keys, row)) for row in rows]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
