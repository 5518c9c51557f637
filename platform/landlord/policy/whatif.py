"""Replay requests under two policies and say what a change would stop or open.

Pure logic: the requests come from the operator's record (``--live``) or from
the platform repository (:mod:`landlord.cli.policydiff` gathers them); this
module only asks both policies and sorts the answers. Only the *effect*
counts: a change that moves, reorders or rewords lines but decides every
request the same way reports nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from landlord.policy.engine import Decision, Policy
from landlord.policy.requests import Request, Seen

# Exit codes for CI (``landlord policy diff``).
NO_CHANGE = 0
ONLY_ALLOWED = 1
DENIED = 2

__all__ = ["DENIED", "NO_CHANGE", "ONLY_ALLOWED", "Change", "Report", "compare"]


def _why(decision: Decision) -> str:
    if decision.note:
        return decision.note
    if decision.rule is None:
        return "no line allows it (default deny)" if not decision.allowed else "allowed"
    verb = "allowed" if decision.allowed else "denied"
    return f"{verb} by {decision.rule.where}"


@dataclasses.dataclass(frozen=True)
class Change:
    """One request whose answer the new policy changes."""

    request: Request
    before: Decision
    after: Decision
    last_seen: float | None = None

    @property
    def denied(self) -> bool:
        return not self.after.allowed

    @property
    def owner_call(self) -> bool:
        """An owner's onboarding API call (recorded by the Tenant): nothing the operator runs."""
        requester = self.request.requester
        return (
            requester is not None
            and requester.kind == "Tenant"
            and self.request.action.startswith("api:")
        )

    @property
    def who(self) -> str:
        requester = self.request.requester
        if requester is not None:
            return str(requester)
        return ",".join(self.request.subjects)

    def sentence(self) -> str:
        """``Kustomization team-a/web would stop: depend team-b/db denied by policy.csv:14``."""
        request = self.request
        what = f"{request.action} {request.object}"
        if self.owner_call:
            subject = ",".join(s for s in request.subjects if s != "role:tenant-owner")
            verb = "could no longer" if self.denied else "could now"
            return f"{subject} {verb} {what} ({_why(self.after)})"
        if self.denied:
            return f"{self.who} would stop: {what} {_why(self.after)}"
        return f"{self.who} would be allowed: {what} {_why(self.after)}"

    def as_json(self) -> dict[str, object]:
        request = self.request
        requester = request.requester
        return {
            "requester": None
            if requester is None
            else {"kind": requester.kind, "namespace": requester.namespace, "name": requester.name},
            "subjects": list(request.subjects),
            "action": request.action,
            "object": request.object,
            "point": request.point,
            "before": {"effect": self.before.effect, "rule": _where(self.before)},
            "after": {"effect": self.after.effect, "rule": _where(self.after)},
            "message": self.sentence(),
            "lastSeen": self.last_seen,
        }


def _where(decision: Decision) -> str | None:
    return decision.rule.where if decision.rule else None


@dataclasses.dataclass
class Report:
    """What the change from ``before`` to ``after`` does to the requests replayed."""

    before: Policy
    after: Policy
    newly_denied: list[Change] = dataclasses.field(default_factory=list)
    newly_allowed: list[Change] = dataclasses.field(default_factory=list)
    still_allowed: int = 0
    still_denied: int = 0

    @property
    def requests(self) -> int:
        return (
            len(self.newly_denied)
            + len(self.newly_allowed)
            + self.still_allowed
            + self.still_denied
        )

    @property
    def exit_code(self) -> int:
        """0 nothing changes, 1 something is newly allowed (only), 2 something is newly denied."""
        if self.newly_denied:
            return DENIED
        if self.newly_allowed:
            return ONLY_ALLOWED
        return NO_CHANGE

    def stopping(self) -> list[str]:
        """The objects that would stop (each once), for a summary line.

        An owner's onboarding API call newly denied stops nothing: the owner
        loses a call, the Tenant keeps running.
        """
        return sorted({c.who for c in self.newly_denied if not c.owner_call})


def _order(change: Change) -> tuple[str, str, str, str]:
    requester = change.request.requester
    return (
        requester.namespace if requester else "",
        change.who,
        change.request.action,
        change.request.object,
    )


def _changed_subjects(before: Policy, after: Policy) -> set[str] | None:
    """The subjects whose ``p`` lines differ (as sets, line numbers aside); None: ask everything.

    With the same model (Landlord's), the same ``g`` lines and, for each of a
    request's subjects and roles, the same ``p`` lines, both policies decide
    the request the same way: only which line decided may move. None when
    the role lines differ or a model is not Landlord's own.
    """
    if not (before.indexed and after.indexed):
        return None

    def lines(policy: Policy, ptype: str) -> set[tuple[str, ...]]:
        return {rule.fields for rule in policy.rules if rule.ptype == ptype}

    if lines(before, "g") != lines(after, "g"):
        return None
    return {fields[0] for fields in lines(before, "p") ^ lines(after, "p")}


def compare(before: Policy, after: Policy, requests: Iterable[Request | Seen]) -> Report:
    """Ask both policies every request the change may touch, and sort the answers.

    A request none of whose subjects or roles has a changed line is decided
    the same by both: it is asked once, to count it as still allowed or denied.
    """
    report = Report(before, after)
    changed = _changed_subjects(before, after)
    for item in requests:
        request, last_seen = (
            (item.request, item.last_seen) if isinstance(item, Seen) else (item, None)
        )
        subjects, action, obj = request.question
        old = before.decide(subjects, action, obj)
        if changed is not None and not any(
            changed.intersection(before.roles(subject)) for subject in subjects
        ):
            new = old
        else:
            new = after.decide(subjects, action, obj)
        if old.allowed == new.allowed:
            if new.allowed:
                report.still_allowed += 1
            else:
                report.still_denied += 1
            continue
        change = Change(request, old, new, last_seen)
        (report.newly_denied if change.denied else report.newly_allowed).append(change)
    report.newly_denied.sort(key=_order)
    report.newly_allowed.sort(key=_order)
    return report
