"""A real Git server on loopback, for the demo and the tests.

Git's smart HTTP protocol served by ``git http-backend`` behind a small HTTP
server with basic or bearer auth.

What belongs here: serving bare repositories, creating them, counting the
requests it answers (so tests can prove a poll made no fetch). What must not:
anything the operator itself runs.
"""

from __future__ import annotations

from landlord.gitserver.server import GitServer

__all__ = ["GitServer"]
