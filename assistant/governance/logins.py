"""Admin logins held against guessing: failed attempts are counted for the whole process (a new browser session does
not start the count again), and after `limit` failures within `window_s` every attempt is refused for `lock_s`;
each failure is written to the audit log (no password, only the event)."""
from __future__ import annotations

import threading
import time

from .audit import record_event


class LoginGuard:
    def __init__(self, limit: int = 5, window_s: float = 300.0, lock_s: float = 300.0):
        self.limit, self.window_s, self.lock_s = limit, window_s, lock_s
        self._failures: list[float] = []
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def locked_for(self) -> int:
        """Seconds left before logins are accepted again (0 = open)."""
        return max(0, int(self._locked_until - time.monotonic() + 0.999))

    def failed(self, assistant) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures = [t for t in self._failures if now - t < self.window_s] + [now]
            if len(self._failures) >= self.limit:
                self._locked_until, self._failures = now + self.lock_s, []
        record_event(assistant, "admin_login_failed", locked=self.locked_for() > 0)

    def succeeded(self) -> None:
        with self._lock:
            self._failures = []

    def reset(self) -> None:
        with self._lock:
            self._failures, self._locked_until = [], 0.0


ADMIN_LOGINS = LoginGuard()  # one per server process, by design: the count must outlive browser sessions
