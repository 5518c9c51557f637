"""Source tests use the shared Git server fixtures (``tests/fixtures/git.py``)."""

from __future__ import annotations

from tests.fixtures.git import PASSWORD, TOKEN, USER

__all__ = ["PASSWORD", "TOKEN", "USER"]
