"""The requests the platform asks the policy, remembered so a policy change can be replayed.

Every :meth:`Gate.check <landlord.policy.gate.Gate.check>` is one request
``(subjects, action, object)``. The operator keeps the ones it decided in a
:class:`Recorder`: deduplicated per request and requester (the object whose
reconcile asked, e.g. ``Kustomization team-a/web``), with the last time it was
asked and how it was decided, and bounded (the least recently seen go first).
``landlord policy diff --live`` replays them under two policies
(:mod:`landlord.policy.whatif`) without asking the apiserver for anything.

Which object asked is carried by a context variable: the operator's wiring
wraps each controller's reconcile in :func:`attributed`, and a reconcile that
decided at a point (say ``apply``) *replaces* its requester's earlier requests
at that point (:meth:`Recorder.settle`), so a Kustomization's ``apply``
requests are the kinds of the revision it last built, not every kind it ever
had. A requester that is gone (its reconcile returned None) is forgotten.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import gzip
import json
import re
import threading
import time
import typing
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

FORMAT = "landlord.dev/policy-requests/v1"
DEFAULT_LIMIT = 100_000
# One object's requests: a tenant's revision with thousands of kinds cannot push the
# rest of the platform out of the record.
PER_REQUESTER = 1_000
# One namespace's objects together: a tenant with many objects, each at its own bound,
# cannot either (cluster-scoped requesters, Tenants and Clusters, are not counted here).
PER_NAMESPACE = 10_000
# The longest object (and subjects, together) a request kept may have. A tenant's Helm or
# registry server chooses where it redirects (a header of up to 64 KiB) and every hop is
# decided: without this, each of a tenant's objects could hold megabytes of the record
# (and of the ConfigMaps it is published to). Git URLs, names and kinds are far shorter.
MAX_OBJECT = 2048
# What one published document may inflate to (100,000 requests take about 25 MB).
MAX_DOCUMENT_BYTES = 128 * 1024 * 1024
# A URL's userinfo never reaches the record (sources refuse it; this is belt and braces).
# Up to the last '@' before the path, as Git and curl split it: an unescaped '@' in a
# password does not leave its end in the record.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@")

__all__ = [
    "FORMAT",
    "FormatError",
    "Published",
    "Recorder",
    "Request",
    "Requester",
    "Seen",
    "attributed",
    "current",
    "decided",
    "dump",
    "load",
    "read",
    "unrecorded",
]


@dataclasses.dataclass(frozen=True, order=True)
class Requester:
    """The object whose reconcile made a request (namespace empty when cluster-scoped)."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, kind: str, key: str) -> Requester:
        """From a controller key: ``namespace/name`` or ``name``."""
        namespace, _, name = key.rpartition("/")
        return cls(kind, namespace, name)

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else (f"{self.kind} {self.name}")
        )


@dataclasses.dataclass(frozen=True)
class Request:
    """One question to the policy, and who asked it (None: no reconcile was running)."""

    subjects: tuple[str, ...]
    action: str
    object: str
    point: str = ""
    requester: Requester | None = None

    def __post_init__(self) -> None:
        if "@" in self.object:
            object.__setattr__(self, "object", _USERINFO.sub(r"\1", self.object))
        if not self.point:
            object.__setattr__(self, "point", self.action.partition(":")[0])

    @property
    def question(self) -> tuple[tuple[str, ...], str, str]:
        return (self.subjects, self.action, self.object)

    def describe(self) -> str:
        """``tenant:a depend b/db``: the request as a policy line would read it."""
        return f"{','.join(self.subjects)} {self.action} {self.object}"


@dataclasses.dataclass(frozen=True)
class Seen:
    """A recorded request: when it was last asked, and the answer then."""

    request: Request
    last_seen: float
    effect: str = ""
    rule: str = ""


@dataclasses.dataclass
class _Attribution:
    requester: Requester | None
    asked: dict[str, set[Request]] = dataclasses.field(default_factory=dict)
    # Inside :func:`unrecorded`: nothing asked here is kept.
    silent: bool = False


_current: contextvars.ContextVar[_Attribution | None] = contextvars.ContextVar(
    "landlord_policy_requester", default=None
)


def current() -> Requester | None:
    """The object whose reconcile is running on this thread, if any."""
    found = _current.get()
    return found.requester if found else None


def decided(*points: str) -> None:
    """The running reconcile decided everything it asks at ``points``, even if it asked nothing.

    A Kustomization whose last cross-tenant ``dependsOn`` was removed asks
    nothing at ``depend`` any more; saying it decided there lets
    :meth:`Recorder.settle` drop the edge it no longer has.
    """
    found = _current.get()
    if found is not None and not found.silent:
        for point in points:
            found.asked.setdefault(point, set())


@contextlib.contextmanager
def unrecorded() -> Iterator[None]:
    """Requests asked inside are not recorded, nor counted as the running reconcile's.

    For checks made on behalf of something else (the notification dispatcher
    deciding whether an Alert may see an Event posted by a Kustomization's reconcile).
    """
    token = _current.set(_Attribution(None, silent=True))
    try:
        yield
    finally:
        _current.reset(token)


class Recorder:
    """Deduplicated, bounded, thread-safe memory of the requests decided.

    ``version`` goes up with every change that alters what :meth:`seen` returns
    (a request seen again only moves its time): a publisher writes when it moved.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        *,
        per_requester: int = PER_REQUESTER,
        per_namespace: int = PER_NAMESPACE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.per_requester = per_requester
        self.per_namespace = per_namespace
        self.clock = clock
        # Requesters that asked more than ``per_requester`` distinct requests: not all kept.
        self.overflowing: set[Requester | None] = set()
        self._entries: OrderedDict[Request, Seen] = OrderedDict()
        self._by_requester: dict[Requester | None, set[Request]] = {}
        self._by_namespace: dict[str, int] = {}
        self._lock = threading.Lock()
        self.version = 0
        self.dropped = 0
        # Every record() counts, a request seen again too (its time moved): a publisher
        # refreshes the times now and then even when ``version`` stands still.
        self.asked = 0

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, request: Request, effect: str = "", rule: str = "") -> None:
        """Remember ``request`` (now), attributing it to the running reconcile if any."""
        attribution = _current.get()
        if attribution is not None and attribution.silent:
            return
        if request.requester is None and attribution is not None:
            request = dataclasses.replace(request, requester=attribution.requester)
        if attribution is not None and attribution.requester == request.requester:
            attribution.asked.setdefault(request.point, set()).add(request)
        if _oversized(request):
            with self._lock:
                if request.requester not in self.overflowing:
                    self.overflowing.add(request.requester)
                    self.version += 1
            return
        seen = Seen(request, self.clock(), effect, rule)
        with self._lock:
            self.asked += 1
            previous = self._entries.pop(request, None)
            if previous is None and self._full(request.requester):
                if request.requester not in self.overflowing:
                    self.overflowing.add(request.requester)
                    self.version += 1
                return
            self._entries[request] = seen
            if previous is None or (previous.effect, previous.rule) != (effect, rule):
                self.version += 1
            if previous is None:
                self._index(request)
                while len(self._entries) > self.limit:
                    oldest, _ = self._entries.popitem(last=False)
                    self._unindex(oldest)
                    self.dropped += 1

    def settle(self, requester: Requester, asked: dict[str, set[Request]]) -> None:
        """``requester`` decided at ``asked``'s points: its other requests there are gone."""
        with self._lock:
            held = self._by_requester.get(requester, set())
            stale = [r for r in held if r.point in asked and r not in asked[r.point]]
            for request in stale:
                del self._entries[request]
                self._unindex(request)
            if stale:
                self.version += 1

    def forget(self, requester: Requester) -> None:
        """The object is gone: none of its requests is kept."""
        with self._lock:
            held = list(self._by_requester.get(requester, ()))
            self.overflowing.discard(requester)
            for request in held:
                self._entries.pop(request, None)
                self._unindex(request)
            if held:
                self.version += 1

    def merge(
        self,
        seen: Iterable[Seen],
        *,
        overflowing: Iterable[Requester | None] = (),
        dropped: int = 0,
    ) -> None:
        """Take in what a previous process recorded (older than anything seen here).

        Within the same bounds as :meth:`record`; what a request seen here
        already says is never overwritten. ``overflowing`` and ``dropped`` are the
        previous process's own (a requester cut short then still is).
        """
        with self._lock:
            for item in sorted(seen, key=lambda each: each.last_seen, reverse=True):
                request = item.request
                if request in self._entries or len(self._entries) >= self.limit:
                    continue
                if self._full(request.requester) or _oversized(request):
                    self.overflowing.add(request.requester)
                    continue
                self._index(request)
                self._entries[request] = item
                # Older than everything here, newest of the merged first: the order stays
                # least recently seen first.
                self._entries.move_to_end(request, last=False)
                self.version += 1
            for requester in overflowing:
                if requester not in self.overflowing:
                    self.overflowing.add(requester)
                    self.version += 1
            self.dropped += max(0, dropped)

    def seen(self) -> list[Seen]:
        """Everything remembered, least recently seen first."""
        with self._lock:
            return list(self._entries.values())

    def _full(self, requester: Requester | None) -> bool:
        """Whether ``requester`` (or its namespace) holds all it may: a new request is not kept."""
        if len(self._by_requester.get(requester, ())) >= self.per_requester:
            return True
        namespace = requester.namespace if requester is not None else ""
        return bool(namespace) and self._by_namespace.get(namespace, 0) >= self.per_namespace

    def _index(self, request: Request) -> None:
        self._by_requester.setdefault(request.requester, set()).add(request)
        if request.requester is not None and request.requester.namespace:
            namespace = request.requester.namespace
            self._by_namespace[namespace] = self._by_namespace.get(namespace, 0) + 1

    def _unindex(self, request: Request) -> None:
        held = self._by_requester.get(request.requester)
        if held is None or request not in held:
            return
        held.discard(request)
        if not held:
            del self._by_requester[request.requester]
        if request.requester is not None and request.requester.namespace:
            namespace = request.requester.namespace
            left = self._by_namespace[namespace] - 1
            if left:
                self._by_namespace[namespace] = left
            else:
                del self._by_namespace[namespace]


def _oversized(request: Request) -> bool:
    """Whether ``request`` is too long to keep (:data:`MAX_OBJECT`)."""
    return len(request.object) > MAX_OBJECT or sum(map(len, request.subjects)) > MAX_OBJECT


Result = TypeVar("Result")


def attributed(
    kind: str, reconcile: Callable[[str], Result], recorder: Recorder | None
) -> Callable[[str], Result]:
    """``reconcile`` with its requests attributed to ``kind`` ``key`` and settled after it.

    Only a reconcile that went all the way (it did not raise, and its outcome is
    ready or skipped) replaces its requests at the points it decided. One that
    stopped early (a denied edge, a dependency not Ready, a failed build) may not
    have reached every request of a point: an Alert's second eventSource after a
    denied first, a HelmRelease's dependency after one not Ready. Its requests
    are added to what the record holds, never dropped from it, so a policy change
    denying a request it did not reach is still reported (a removed one stays a
    while longer: a false "would stop" is the safe side).

    A reconcile that returns None says its object is gone: its requests are forgotten.
    """
    if recorder is None:
        return reconcile

    def run(key: str) -> Result:
        requester = Requester.of(kind, key)
        attribution = _Attribution(requester)
        token = _current.set(attribution)
        complete = False
        try:
            result = reconcile(key)
            complete = bool(getattr(result, "skipped", False)) or (
                getattr(result, "ready", True) is not False
            )
        finally:
            _current.reset(token)
            if attribution.asked and complete:
                recorder.settle(requester, attribution.asked)
        if result is None:
            recorder.forget(requester)
        return result

    return run


# -- the published form --------------------------------------------------------------


def _requester_json(requester: Requester | None) -> dict[str, str] | None:
    if requester is None:
        return None
    return {"kind": requester.kind, "namespace": requester.namespace, "name": requester.name}


def dump(
    seen: Iterable[Seen],
    *,
    origin: str = "",
    digest: str = "",
    overflowing: Iterable[Requester | None] = (),
    dropped: int = 0,
) -> bytes:
    """The gzip-compressed JSON document a ConfigMap's ``binaryData`` holds.

    ``overflowing``: the requesters some of whose requests were not kept (over
    the per-requester bound); ``dropped``: how many requests the overall bound
    pushed out. Both are left out when empty.
    """
    document: dict[str, Any] = {
        "format": FORMAT,
        "origin": origin,
        "policyDigest": digest,
        "requests": [
            {
                "subjects": list(item.request.subjects),
                "action": item.request.action,
                "object": item.request.object,
                "point": item.request.point,
                "requester": _requester_json(item.request.requester),
                "lastSeen": round(item.last_seen, 3),
                "effect": item.effect,
                "rule": item.rule,
            }
            for item in seen
        ],
    }
    cut_short = sorted(overflowing, key=lambda r: (r is not None, r or Requester("", "", "")))
    if cut_short:
        document["overflowing"] = [_requester_json(r) for r in cut_short]
    if dropped:
        document["dropped"] = dropped
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


class FormatError(ValueError):
    """Published requests that cannot be read (another format, or damaged)."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise FormatError(f"{what} is not a string")
    return value


@dataclasses.dataclass
class Published:
    """One published document: its requests, and what the bounds left out."""

    seen: list[Seen]
    origin: str = ""
    digest: str = ""
    overflowing: list[Requester | None] = dataclasses.field(default_factory=list)
    dropped: int = 0


def _requester(raw: Any, where: str) -> Requester | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise FormatError(f"{where} is not an object")
    return Requester(
        _text(raw.get("kind"), f"{where}.kind"),
        _text(raw.get("namespace", ""), f"{where}.namespace"),
        _text(raw.get("name"), f"{where}.name"),
    )


def _inflated(data: bytes, limit: int) -> bytes:
    """Gunzip at most ``limit`` bytes: a damaged or crafted document cannot take the memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(data, limit)
    except zlib.error as error:
        raise FormatError(f"not gzip-compressed JSON: {error}") from None
    if inflater.unconsumed_tail:
        raise FormatError(f"it inflates past {limit} bytes")
    if not inflater.eof:
        raise FormatError("not gzip-compressed JSON: the stream is cut short")
    return text


def read(data: bytes, *, limit: int = MAX_DOCUMENT_BYTES) -> Published:
    """A whole :func:`dump` document; FormatError when it is not one or inflates past ``limit``."""
    try:
        document = json.loads(_inflated(data, limit))
    except ValueError as error:
        raise FormatError(f"not gzip-compressed JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FormatError(f"not a {FORMAT} document")
    items = document.get("requests") or []
    if not isinstance(items, list):
        raise FormatError("requests is not a list")
    seen = []
    # 1,000 tenants' record repeats each requester and subject list many times: one object each.
    requesters: dict[tuple[str, str, str], Requester] = {}
    subject_lists: dict[tuple[str, ...], tuple[str, ...]] = {}
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(f"request {number} is not an object")
        subjects = item.get("subjects")
        if not isinstance(subjects, list) or not subjects:
            raise FormatError(f"request {number}: subjects is not a list")
        raw = item.get("requester")
        requester: Requester | None = None
        if raw is not None:
            key = (
                (raw.get("kind"), raw.get("namespace", ""), raw.get("name"))
                if isinstance(raw, dict)
                else None
            )
            found = requesters.get(key) if key is not None else None  # type: ignore[arg-type]
            if found is None:
                found = _requester(raw, f"request {number}: requester")
                if found is not None and key is not None:
                    requesters[key] = found  # type: ignore[index]
            requester = found
        last_seen = item.get("lastSeen", 0)
        if not isinstance(last_seen, int | float) or isinstance(last_seen, bool):
            raise FormatError(f"request {number}: lastSeen is not a number")
        action = item.get("action")
        obj = item.get("object")
        point = item.get("point", "")
        effect = item.get("effect", "")
        rule = item.get("rule", "")
        names = tuple(subjects)
        known = subject_lists.get(names)
        if known is None:
            for subject in names:
                _text(subject, f"request {number}: subject")
            known = subject_lists[names] = names
        names = known
        if not (
            type(action) is str
            and type(obj) is str
            and type(point) is str
            and type(effect) is str
            and type(rule) is str
        ):
            for name, value in (
                ("action", action),
                ("object", obj),
                ("point", point),
                ("effect", effect),
                ("rule", rule),
            ):
                _text(value, f"request {number}: {name}")
        action, obj, point, effect, rule = typing.cast(
            tuple[str, str, str, str, str], (action, obj, point, effect, rule)
        )
        seen.append(
            Seen(Request(names, action, obj, point, requester), float(last_seen), effect, rule)
        )
    overflowing = document.get("overflowing") or []
    if not isinstance(overflowing, list):
        raise FormatError("overflowing is not a list")
    dropped = document.get("dropped", 0)
    if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
        raise FormatError("dropped is not a count")
    return Published(
        seen,
        origin=str(document.get("origin") or ""),
        digest=str(document.get("policyDigest") or ""),
        overflowing=[_requester(r, "overflowing") for r in overflowing],
        dropped=dropped,
    )


def load(data: bytes) -> Iterator[Seen]:
    """The requests of a :func:`dump`; FormatError when it is not one."""
    yield from read(data).seen
