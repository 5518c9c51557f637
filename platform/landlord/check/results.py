"""``Result``: one check's verdict, and what to do about it."""

from __future__ import annotations

import dataclasses
from typing import Literal

State = Literal["ok", "warn", "fail", "skip"]


@dataclasses.dataclass(frozen=True)
class Result:
    """What one check found. ``warn`` and ``skip`` do not fail ``landlord check``."""

    name: str
    state: State
    message: str
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.state == "fail"

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def ok(name: str, message: str) -> Result:
    return Result(name, "ok", message)


def fail(name: str, message: str, hint: str) -> Result:
    return Result(name, "fail", message, hint)
