"""Where ``landlord policy diff`` finds the requests it replays.

Three places, each giving :class:`Gathered` (the requests, where they came
from, and warnings about what is missing):

- :func:`from_live`: the operator's record, the ConfigMaps it publishes in the
  platform namespace (one list call; no other request to the apiserver).
- :func:`from_file`: one ``requests.dump`` document (offline use, tests).
- :func:`landlord.cli.policytenants.from_tenants`: the platform repository's
  ``tenants/`` and the tenants' repositories (its own module: ``--live`` need
  not import the build, the sources and the tenant operator).

Everything read here is written by someone else; a tenant's repository is
hostile: fetched and built with the operator's own bounds (time, sizes, the
build sandbox, the sources' network deny list), and a failure is a warning
that names the tenant, never a crash and never silent.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import pathlib
import time
import zlib
from collections.abc import Iterable, Mapping

from landlord import errors
from landlord import kube as kube_mod
from landlord.api import labels
from landlord.policy import requests as recorded
from landlord.policy.requests import Request, Requester, Seen

# The operator's publishing interface (docs/policies.md).
LABEL = labels.POLICY_REQUESTS
KEY = labels.POLICY_REQUESTS_KEY
RECORDED_AT = labels.RECORDED_AT
# A record is a few MiB at most once uncompressed; a document inflating past this is damaged.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
OWNER_ROLE = "role:tenant-owner"  # what the onboarding API adds to an owner's subjects

Replayed = Request | Seen


class RecordError(errors.TerminalError):
    """The requests to replay cannot be read: the diff cannot be made."""


@dataclasses.dataclass
class Gathered:
    """The requests to replay, where they came from, and what is missing from them."""

    requests: list[Replayed] = dataclasses.field(default_factory=list)
    origins: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    recorded_at: float | None = None  # the newest record (live and file)
    digests: set[str] = dataclasses.field(default_factory=set)  # policies it was recorded under

    def add(self, other: Gathered) -> None:
        self.requests.extend(other.requests)
        self.origins.extend(other.origins)
        self.warnings.extend(other.warnings)
        self.digests |= other.digests
        if other.recorded_at is not None:
            self.recorded_at = max(self.recorded_at or 0.0, other.recorded_at)

    def merged(self) -> Gathered:
        """Each request once: recorded ones by their newest last-seen, then static ones."""
        return dataclasses.replace(self, requests=list(merge(self.requests)))


def merge(items: Iterable[Replayed]) -> list[Replayed]:
    """Deduplicated by request (requester included); the newest last-seen wins."""
    found: dict[Request, Replayed] = {}
    for item in items:
        request = item.request if isinstance(item, Seen) else item
        held = found.get(request)
        if held is None or (
            isinstance(item, Seen)
            and (not isinstance(held, Seen) or item.last_seen > held.last_seen)
        ):
            found[request] = item
    return list(found.values())


# -- the published record -----------------------------------------------------------


def _inflate(data: bytes) -> None:
    """Gunzip with a bound: a damaged (or hostile) document cannot take all the memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflater.decompress(data, MAX_DOCUMENT_BYTES)
    except zlib.error as error:
        raise recorded.FormatError(f"not gzip-compressed: {error}") from None
    if inflater.unconsumed_tail:
        raise recorded.FormatError(f"it inflates past {MAX_DOCUMENT_BYTES} bytes")
    if not inflater.eof:
        raise recorded.FormatError("the gzip stream is cut short")


def decode(data: bytes) -> recorded.Published:
    """A published document; :class:`requests.FormatError` when it is not one."""
    _inflate(data)  # bounded first: the record's own reader inflates it whole
    return recorded.read(data)


def _requester_text(requester: Requester | None) -> str:
    return "requests made outside any reconcile" if requester is None else str(requester)


def _published(gathered: Gathered, document: recorded.Published, where: str) -> None:
    gathered.requests.extend(document.seen)
    if document.digest:
        gathered.digests.add(document.digest)
    if document.seen:
        newest = max(item.last_seen for item in document.seen)
        gathered.recorded_at = max(gathered.recorded_at or 0.0, newest)
    if document.dropped:
        gathered.warnings.append(
            f"{where}: the operator's record is full and let {document.dropped} older "
            "request(s) go (LANDLORD_POLICY__RECORD_REQUESTS bounds it): they were not replayed"
        )
    shown = [_requester_text(r) for r in document.overflowing[:5]]
    if shown:
        more = len(document.overflowing) - len(shown)
        gathered.warnings.append(
            f"{where}: {', '.join(shown)}{f' and {more} more' if more > 0 else ''} asked more "
            "distinct requests than the record keeps for one object or one namespace: not all "
            "of theirs were replayed"
        )


def from_file(path: pathlib.Path) -> Gathered:
    """The requests of one ``requests.dump`` document (gzip JSON) in a file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(f"--requests {path}: {error.strerror or error}") from None
    try:
        document = decode(data)
    except recorded.FormatError as error:
        raise RecordError(f"--requests {path}: {error}") from None
    gathered = Gathered(origins=[f"the record in {path}"])
    _published(gathered, document, str(path))
    return gathered


def _recorded_at(annotations: Mapping[str, str]) -> float | None:
    raw = annotations.get(RECORDED_AT)
    if not raw:
        return None
    try:
        return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def from_live(client: kube_mod.Kube, namespace: str) -> Gathered:
    """Every request the operator published in ``namespace`` (one list call)."""
    try:
        listed = client.list_objects(
            "v1", "ConfigMap", namespace=namespace, label_selector=f"{LABEL}=true"
        )
    except errors.ApiError as error:
        if error.forbidden:
            raise RecordError(
                f"you may not list ConfigMaps in namespace {namespace}: --live reads the "
                "operator's record there",
                hint=f"it needs `list` on configmaps in {namespace} (`kubectl auth can-i list "
                f"configmaps -n {namespace}`)",
            ) from None
        raise RecordError(
            f"the operator's record in {namespace} could not be read: {error.message}",
            hint=error.hint,
        ) from None
    if not listed:
        raise RecordError(
            f"no ConfigMap labelled {LABEL}=true in namespace {namespace}: the operator has not "
            "recorded any requests yet: is it running, with LANDLORD_POLICY__RECORD_REQUESTS "
            "above 0?",
            hint="without --live, the requests come from the platform repository's tenants/",
        )
    gathered = Gathered()
    names = []
    for item in sorted(listed, key=lambda i: str(i["metadata"]["name"])):
        metadata = item.get("metadata") or {}
        where = f"ConfigMap {namespace}/{metadata.get('name')}"
        raw = (item.get("binaryData") or {}).get(KEY)
        if not isinstance(raw, str):
            raise RecordError(f"{where} has no binaryData key {KEY}: the record is damaged")
        try:
            document = decode(base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError) as error:
            raise RecordError(f"{where}: {KEY} is damaged: {error}") from None
        _published(gathered, document, where)
        stamp = _recorded_at(metadata.get("annotations") or {})
        if stamp is not None:
            gathered.recorded_at = max(gathered.recorded_at or 0.0, stamp)
        names.append(str(metadata.get("name")))
    gathered.origins.append(
        f"the operator's record ({len(listed)} ConfigMap{'s' if len(listed) != 1 else ''} in "
        f"{namespace}: {', '.join(names)})"
    )
    return gathered


def age(recorded_at: float | None, now: float | None = None) -> str:
    """``4m ago``: how old the newest record is."""
    if recorded_at is None:
        return "of unknown age"
    seconds = max(0, int((now if now is not None else time.time()) - recorded_at))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"
