"""Which events an Alert forwards: its sources, its severity, its inclusion and exclusion lists.

The lists are regular expressions a tenant writes, matched against every event
of its objects: they are compiled with RE2 (as Flux's Go ``regexp``), which
matches in linear time, so no pattern can stall the dispatcher; a pattern RE2
refuses (backreferences, lookarounds) is an invalid Alert with the reason why.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import re2  # type: ignore[import-untyped]

from landlord.api import notification as model
from landlord.notifications.event import Event


class InvalidPatternError(ValueError):
    """A list entry RE2 does not compile; the message names it."""


@dataclasses.dataclass(frozen=True)
class Filter:
    """An Alert, compiled: match it against events without touching the apiserver."""

    namespace: str
    name: str
    spec: model.AlertSpec
    inclusion: tuple[Any, ...]
    exclusion: tuple[Any, ...]

    @classmethod
    def of(cls, namespace: str, name: str, spec: model.AlertSpec) -> Filter:
        return cls(
            namespace,
            name,
            spec,
            _compiled(spec.inclusion_list or (), "inclusionList"),
            _compiled(spec.exclusion_list or (), "exclusionList"),
        )

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def namespaces(self) -> set[str]:
        """The namespaces whose events this Alert may want."""
        return {source.namespace or self.namespace for source in self.spec.event_sources}

    def matches(self, event: Event) -> bool:
        """Whether ``event`` goes to this Alert's Provider."""
        if self.spec.suspend:
            return False
        if self.spec.event_severity == "error" and event.severity != "error":
            return False
        if not any(self._source(source, event) for source in self.spec.event_sources):
            return False
        text = event.message
        if self.inclusion and not any(p.search(text) for p in self.inclusion):
            return False
        return not any(p.search(text) for p in self.exclusion)

    def _source(self, source: model.EventSource, event: Event) -> bool:
        if source.kind != event.kind:
            return False
        if (source.namespace or self.namespace) != event.namespace:
            return False
        if source.name != "*" and source.name != event.name:
            return False
        wanted = source.match_labels or {}
        found = event.labels
        return all(found.get(k) == v for k, v in wanted.items())


def _compiled(patterns: tuple[str, ...], field: str) -> tuple[Any, ...]:
    options = re2.Options()
    options.log_errors = False  # a tenant's bad pattern is its Alert's status, not our log
    compiled = []
    for index, pattern in enumerate(patterns):
        try:
            compiled.append(re2.compile(pattern, options=options))
        except re2.error as error:
            raw = error.args[0] if error.args else "invalid"
            why = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            raise InvalidPatternError(
                f"spec.{field}[{index}] {pattern[:80]!r} is not a regular expression RE2 "
                f"accepts ({why}); Landlord matches as Flux does, with RE2 syntax"
            ) from None
    return tuple(compiled)
