"""Sign-in sessions: a random id in a cookie, the bearer token only in this process.

The token is checked by the apiserver again at every request (through the
authenticator's short cache), so a revoked or expired token ends the session.
Sessions expire after ``lifetime`` seconds, or ``idle`` seconds unused; at most
``limit`` are kept (the least recently used goes first).
"""

from __future__ import annotations

import collections
import dataclasses
import secrets
import threading
import time
from collections.abc import Callable

COOKIE = "landlord_session"


@dataclasses.dataclass
class Session:
    token: str
    owner: str
    created: float
    used: float


class Sessions:
    """Session id → token, bounded, expiring; thread-safe."""

    def __init__(
        self,
        *,
        lifetime: float = 8 * 3600.0,
        idle: float = 3600.0,
        limit: int = 10_000,
        per_owner: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self.idle = idle
        self.limit = limit
        self.per_owner = per_owner
        self._clock = clock
        self._sessions: collections.OrderedDict[str, Session] = collections.OrderedDict()
        self._lock = threading.Lock()

    def open(self, token: str, owner: str) -> str:
        """A new session for ``token`` of user ``owner``; its id (256 random bits).

        One user holds at most ``per_owner`` sessions (its oldest goes first), so
        signing in again and again cannot push everyone else's sessions out.
        """
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            mine = [key for key, found in self._sessions.items() if found.owner == owner]
            for key in mine[: max(len(mine) - self.per_owner + 1, 0)]:
                del self._sessions[key]
            self._sessions[session_id] = Session(token, owner, now, now)
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return session_id

    def token(self, session_id: str | None) -> str | None:
        """The token of a live session (None: unknown or expired, and then forgotten)."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if now - found.created > self.lifetime or now - found.used > self.idle:
                del self._sessions[session_id]
                return None
            found.used = now
            self._sessions.move_to_end(session_id)
            return found.token

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
