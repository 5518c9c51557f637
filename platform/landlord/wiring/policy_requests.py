"""Publish the requests the operator decided, for ``landlord policy diff --live``.

The gate's :class:`~landlord.policy.requests.Recorder` lives in memory; this
module keeps a copy in ConfigMaps in the platform namespace, labelled
``landlord.dev/policy-requests: "true"``: ``landlord-policy-requests`` for the
default shard, ``landlord-policy-requests-<shard>`` for a named one. A document
over :data:`PART_BYTES` compressed is split into parts ``<name>.1``,
``<name>.2``, … (the unsplit one and parts no longer needed are deleted; a dot,
which no shard name has, so that no shard's parts are another shard's record:
``eu-1`` is a valid shard name);
``dropped`` and ``overflowing`` travel in the first part only, so a reader may
add them up across documents.

At start the operator takes in what it (or the replica it replaces) published,
minus the requests of objects that are gone; it writes only when the record
changed since (a standby that decides nothing never writes). A failure is
logged and tried again at the next tick: publishing never stops the operator.
"""

from __future__ import annotations

import base64
import datetime
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from landlord import api, errors, kube
from landlord.api import labels
from landlord.policy import requests

log = logging.getLogger(__name__)

NAME = "landlord-policy-requests"
# A ConfigMap holds at most 1 MiB; a part stays well below it (and its request below
# the apiserver's limits once base64-encoded).
PART_BYTES = 900 * 1024
# The annotation that says which shard's record a ConfigMap is ("default": the unnamed one).
SHARD = labels.SHARD
DEFAULT_SHARD = "default"
# A record whose requests were only asked again (same answers) is written this often,
# so its last-seen times say the requests are still being asked.
REFRESH = 300.0
# A publish costs its dump and its writes (about 0.15 s for 15,000 requests): the loop
# waits at least this many times as long as the last one took, so a record that keeps
# changing never holds more than a twentieth of a core, however short the interval.
BUSY_FACTOR = 20


def name_of(shard: str) -> str:
    """The ConfigMap of ``shard``'s record (its parts add ``.1``, ``.2``, …)."""
    return f"{NAME}-{shard}" if shard else NAME


def split(
    seen: list[requests.Seen],
    *,
    limit: int = PART_BYTES,
    encode: Callable[[list[requests.Seen], bool], bytes],
) -> list[tuple[int, bytes]]:
    """``seen`` as one document, or as the fewest even parts each at most ``limit`` bytes.

    Each part is ``(how many requests, document)``. ``encode(chunk, first)`` makes
    one document (``first``: the one that carries the totals). A single request
    larger than ``limit`` cannot happen (objects and subjects are bounded far
    below it); it would be published alone.
    """
    whole = encode(seen, True)
    if len(whole) <= limit or len(seen) < 2:
        return [(len(seen), whole)]
    count = max(2, math.ceil(len(whole) / limit))
    while True:
        size = math.ceil(len(seen) / count)
        chunks = [seen[i : i + size] for i in range(0, len(seen), size)]
        parts = [(len(chunk), encode(chunk, index == 0)) for index, chunk in enumerate(chunks)]
        if all(len(part) <= limit for _, part in parts) or size == 1:
            return parts
        count += 1


class Publisher:
    """Writes the recorder's requests to the shard's ConfigMap(s) when they changed."""

    def __init__(
        self,
        kube_client: kube.Kube,
        recorder: requests.Recorder,
        *,
        namespace: str,
        shard: str = "",
        interval: float = 10.0,
        digest: Callable[[], str] = lambda: "",
        origin: str | None = None,
        part_bytes: int = PART_BYTES,
    ) -> None:
        self.kube = kube_client
        self.recorder = recorder
        self.namespace = namespace
        self.shard = shard
        self.name = name_of(shard)
        self.interval = interval
        self.digest = digest
        self.origin = origin or f"{socket.gethostname()}/{shard or DEFAULT_SHARD}"
        self.part_bytes = part_bytes
        self._published = recorder.version  # the recorder's version last written (or read)
        self._asked = recorder.asked  # and its count of requests asked, then
        self._written_at = time.monotonic()
        self.refresh = REFRESH
        self._written: set[str] = set()  # the ConfigMaps this shard's record is in now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one publish at a time (the loop, then shutdown)

    # -- which ConfigMaps are this shard's ---------------------------------------------

    def _mine(self, body: dict[str, Any]) -> bool:
        metadata = body.get("metadata") or {}
        name = str(metadata.get("name") or "")
        if name != self.name and not re.fullmatch(re.escape(self.name) + r"\.[0-9]+", name):
            return False
        shard = (metadata.get("annotations") or {}).get(SHARD, DEFAULT_SHARD)
        return bool(shard == (self.shard or DEFAULT_SHARD))

    def _listed(self) -> list[dict[str, Any]]:
        found = self.kube.list_objects(
            "v1",
            "ConfigMap",
            namespace=self.namespace,
            label_selector=f"{labels.POLICY_REQUESTS}=true",
        )
        return sorted((item for item in found if self._mine(item)), key=_part_order)

    # -- start: take in what was published -----------------------------------------------

    def restore(self) -> None:
        """Merge the published record into the recorder; never raises.

        A document that cannot be read is skipped (logged): the operator starts
        with what it can read, and its next publish replaces the damaged one.
        """
        try:
            self._restore()
        except Exception as error:  # noqa: BLE001 - the record is a convenience, never a stop
            log.warning("policy requests: the published record was not taken in: %s", error)
            self._published = -1  # whatever is there is written over at the first tick

    def _restore(self) -> None:
        try:
            listed = self._listed()
        except errors.ApiError as error:
            log.warning("policy requests: the published record could not be read: %s", error)
            listed = []
        restored: list[requests.Seen] = []
        overflowing: list[requests.Requester | None] = []
        dropped = 0
        damaged = False
        for item in listed:
            name = item["metadata"]["name"]
            self._written.add(name)
            try:
                raw = (item.get("binaryData") or {}).get(labels.POLICY_REQUESTS_KEY)
                if not isinstance(raw, str):
                    raise requests.FormatError(f"no binaryData {labels.POLICY_REQUESTS_KEY}")
                document = requests.read(base64.b64decode(raw, validate=True))
            except (requests.FormatError, ValueError) as error:
                log.warning(
                    "policy requests: ConfigMap %s/%s is not a record (%s); it is not taken in",
                    self.namespace,
                    name,
                    error,
                )
                damaged = True
                continue
            restored.extend(document.seen)
            overflowing.extend(document.overflowing)
            dropped += document.dropped
        kept = self._still_there(restored)
        self.recorder.merge(kept, overflowing=overflowing, dropped=dropped)
        # What is published matches the record: nothing to write until it changes. A damaged
        # document, or requests of objects since gone: written over at the first tick.
        clean = not damaged and len(kept) == len(restored)
        self._published = self.recorder.version if clean else -1
        if restored:
            log.info(
                "policy requests: %d recorded request(s) taken in from %d ConfigMap(s) "
                "(%d of objects since gone left out)",
                len(kept),
                len(listed),
                len(restored) - len(kept),
            )

    def _still_there(self, seen: list[requests.Seen]) -> list[requests.Seen]:
        """The requests whose requester still exists (one list a kind; unknown: kept)."""
        kinds = {s.request.requester.kind for s in seen if s.request.requester is not None}
        present: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
        for kind in sorted(kinds):
            try:
                items = self.kube.list_objects(api.API_VERSION, kind)
            except errors.ApiError as error:
                log.info("policy requests: %s not listed (%s): its requests are kept", kind, error)
                continue
            pairs = {
                (str(i["metadata"].get("namespace") or ""), str(i["metadata"]["name"]))
                for i in items
            }
            present[kind] = (pairs, {name for _, name in pairs})
        kept = []
        for item in seen:
            requester = item.request.requester
            if requester is not None and requester.kind in present:
                pairs, names = present[requester.kind]
                here = (requester.namespace, requester.name) in pairs or (
                    not requester.namespace and requester.name in names
                )
                if not here:
                    continue
            kept.append(item)
        return kept

    # -- publishing ----------------------------------------------------------------------

    def due(self) -> bool:
        """The record changed since the last write, or its times moved a while ago."""
        if self.recorder.version != self._published:
            return True
        stale = time.monotonic() - self._written_at >= self.refresh
        return stale and self.recorder.asked != self._asked

    def publish(self, *, force: bool = False) -> bool:
        """Write the record if it is :meth:`due`; whether it wrote."""
        with self._lock:
            if not force and not self.due():
                return False
            version, asked = self.recorder.version, self.recorder.asked
            seen = self.recorder.seen()
            overflowing = sorted(
                self.recorder.overflowing, key=lambda r: (r is not None, r or _NOBODY)
            )
            dropped = self.recorder.dropped
            digest = self.digest()

            def encode(chunk: list[requests.Seen], first: bool) -> bytes:
                return requests.dump(
                    chunk,
                    origin=self.origin,
                    digest=digest,
                    overflowing=overflowing if first else (),
                    dropped=dropped if first else 0,
                )

            parts = split(seen, limit=self.part_bytes, encode=encode)
            names = (
                [self.name]
                if len(parts) == 1
                else [f"{self.name}.{n}" for n in range(1, len(parts) + 1)]
            )
            stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            for name, (count, part) in zip(names, parts, strict=True):
                self.kube.apply(
                    self._manifest(name, part, stamp, count, digest),
                    field_manager=labels.FIELD_MANAGER,
                    force=True,
                )
            # What this shard wrote before and no longer needs (parts of a bigger record).
            stale = (self._written | {m["metadata"]["name"] for m in self._listed()}) - set(names)
            for name in sorted(stale):
                self.kube.delete("v1", "ConfigMap", name, self.namespace)
            self._written = set(names)
            self._published, self._asked = version, asked
            self._written_at = time.monotonic()
            return True

    def _manifest(
        self, name: str, part: bytes, stamp: str, count: int, digest: str
    ) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {labels.POLICY_REQUESTS: "true"},
                "annotations": {
                    labels.RECORDED_AT: stamp,
                    labels.POLICY_REQUESTS_COUNT: str(count),
                    labels.POLICY_DIGEST: digest,
                    SHARD: self.shard or DEFAULT_SHARD,
                },
            },
            "binaryData": {labels.POLICY_REQUESTS_KEY: base64.b64encode(part).decode()},
        }

    def tick(self) -> None:
        """One publish if due; a failure is logged, and the next tick tries again."""
        try:
            self.publish()
        except Exception as error:  # noqa: BLE001 - never the operator's end: the next tick retries
            log.warning("policy requests: publishing failed, retrying: %s", error)

    # -- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        """Publish every ``interval`` seconds (when the record changed) on a thread of its own."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="policy-requests", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            wait = self.next_wait(self.timed_tick())

    def timed_tick(self) -> float:
        """One :meth:`tick`; how long it took, in seconds."""
        began = time.monotonic()
        self.tick()
        return time.monotonic() - began

    def next_wait(self, took: float) -> float:
        """The interval, or longer after a publish that took long (:data:`BUSY_FACTOR`)."""
        return max(self.interval, BUSY_FACTOR * took)

    def stop(self) -> None:
        """Stop the loop, then publish once more if the record changed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.tick()


_NOBODY = requests.Requester("", "", "")


def _part_order(body: dict[str, Any]) -> tuple[int, str]:
    name = str(body["metadata"]["name"])
    number = name.rpartition(".")[2]
    return (int(number) if number.isdigit() else 0, name)
