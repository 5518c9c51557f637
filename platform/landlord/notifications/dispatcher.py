"""Match each event with the Alerts that may see it; deliver on threads of its own.

:meth:`Dispatcher.offer` is called wherever Landlord posts an Event (a reconcile
thread): it only matches, deduplicates, rate-limits and queues — it never makes
a request, never waits and never raises. Deliveries run on the dispatcher's
workers: the Provider's Secret is read as the tenant's reconciler account, the
payload rendered, the address checked against the network deny list, the POST
sent; a failure that may pass (a timeout, a 5xx, a 429) is retried after 1 s,
5 s and 30 s, then counted as failed on the Provider (its Ready condition says
so) and in ``landlord_notifications_total{result="failed"}``.

An Alert sees the events of objects in its own namespace, in the other
namespaces of its tenant, and elsewhere only where the policy allows its
tenant a ``depend`` on ``<namespace>/<name>``: decided at each event, so a
policy change applies to the next one.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import yaml

from landlord import errors, telemetry
from landlord.api import labels
from landlord.api import notification as model
from landlord.gitops import durations, yamlsafe
from landlord.notifications import payloads, sender
from landlord.notifications.event import Event
from landlord.notifications.matching import Filter
from landlord.runtime.ratelimit import TokenBucket

log = logging.getLogger(__name__)

RETRIES = (1.0, 5.0, 30.0)
MAX_TIMEOUT = 15.0  # Flux's default timeout is the most a tenant may ask for here
MAX_HEADERS, MAX_HEADERS_BYTES = 32, 8 * 1024
# Deliveries queued per namespace at most: one tenant's flood drops its own, not others'.
NAMESPACE_QUEUE = 500
DEDUPE_WINDOW = 300.0  # the same event (object, reason, message) once per Alert in this time
QUEUE_LIMIT = 10_000
BUSY_WAIT = 0.2  # seconds before a delivery whose Provider is busy is looked at again
SWEEP = 5.0  # seconds between two sweeps of the dedupe memory
ALERT_RATE, ALERT_BURST = 1.0, 30  # events a second per Alert, and its burst

# (alert's namespace, event's namespace, event's object name) → may the Alert see it?
MayObserve = Callable[[str, str, str], bool]


@dataclasses.dataclass
class Delivery:
    alert: str
    provider: str
    event: Event
    attempt: int = 0
    done: bool = False


@dataclasses.dataclass
class ProviderStats:
    """What the Provider's deliveries came to (its status shows it)."""

    delivered: int = 0
    failed: int = 0
    last_failure: str = ""
    last_ok: bool = True
    refused: bool = False  # last_ok is False because the Provider's check refused it


class Dispatcher:
    """Alerts and Providers as last reconciled, and the queue of deliveries."""

    def __init__(
        self,
        kube: Any,
        *,
        check: sender.Checker,
        may_observe: MayObserve,
        workers: int = 4,
        retries: tuple[float, ...] = RETRIES,
        dedupe_window: float = DEDUPE_WINDOW,
        alert_rate: float = ALERT_RATE,
        alert_burst: int = ALERT_BURST,
        queue_limit: int = QUEUE_LIMIT,
        metrics: telemetry.Metrics | None = None,
        on_provider: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.check = check
        self.may_observe = may_observe
        self.workers = workers
        self.retries = retries
        self.dedupe_window = dedupe_window
        self.alert_rate, self.alert_burst = alert_rate, alert_burst
        self.queue_limit = queue_limit
        self.metrics = metrics
        self.on_provider = on_provider
        self.clock = clock
        self._lock = threading.Condition()
        self._alerts: dict[str, Filter] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._providers: dict[str, model.ProviderSpec] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._seen: dict[tuple[str, str, str, str, str], float] = {}
        self._swept = 0.0
        self._queue: list[tuple[float, int, Delivery]] = []
        self._sequence = itertools.count()
        self._threads: list[threading.Thread] = []
        self._queued: collections.Counter[str] = collections.Counter()  # by namespace
        self._busy: set[str] = set()  # Providers with a delivery in flight
        self._stopping = False
        self.stats: dict[str, ProviderStats] = {}

    # -- what the reconcilers tell it ------------------------------------------------

    def set_alert(self, key: str, found: Filter | None) -> None:
        """The Alert ``key`` as it is now (None: gone, suspended or not usable)."""
        with self._lock:
            old = self._alerts.pop(key, None)
            if old is not None:
                for namespace in old.namespaces():
                    keys = self._by_namespace.get(namespace, set())
                    keys.discard(key)
                    if not keys:
                        self._by_namespace.pop(namespace, None)
            if found is None:
                self._buckets.pop(key, None)
                return
            self._alerts[key] = found
            for namespace in found.namespaces():
                self._by_namespace.setdefault(namespace, set()).add(key)
            self._buckets.setdefault(key, TokenBucket(self.alert_rate, self.alert_burst))

    def set_provider(self, key: str, spec: model.ProviderSpec | None) -> None:
        with self._lock:
            if spec is None:
                self._providers.pop(key, None)
                self.stats.pop(key, None)
            else:
                self._providers[key] = spec

    def unusable(self, key: str, why: str) -> None:
        """The Provider's check found it cannot deliver: its deliveries get no retries."""
        with self._lock:
            if key in self._providers:
                stats = self.stats.setdefault(key, ProviderStats())
                stats.last_ok = False
                stats.refused = True
                stats.last_failure = why[:1024]

    def usable(self, key: str) -> None:
        """The Provider's check passes again: what its refusal set is undone."""
        with self._lock:
            stats = self.stats.get(key)
            if stats is not None and stats.refused:
                stats.last_ok, stats.refused, stats.last_failure = True, False, ""

    def alerts_of(self, provider_key: str) -> list[str]:
        namespace, _, name = provider_key.partition("/")
        with self._lock:
            return [
                key
                for key, found in self._alerts.items()
                if found.namespace == namespace and found.spec.provider_ref.name == name
            ]

    # -- events in ----------------------------------------------------------------------

    def offer(self, event: Event) -> None:
        """Queue ``event`` for every Alert that wants it; never blocks, never raises."""
        try:
            self._offer(event)
        except Exception:
            log.exception("notifications: matching an event failed")

    def _offer(self, event: Event) -> None:
        now = self.clock()
        with self._lock:
            candidates = [self._alerts[k] for k in self._by_namespace.get(event.namespace, ())]
        for found in candidates:
            if event.namespace != found.namespace and not self.may_observe(
                found.namespace, event.namespace, event.name
            ):
                continue
            if not found.matches(event):
                continue
            mark = (
                found.key,
                event.uid or f"{event.kind}/{event.name}",
                event.reason,
                event.message,
                event.revision,
            )
            with self._lock:
                self._forget_old(now)
                if mark in self._seen:
                    self._count("duplicate")
                    continue
                if (
                    len(self._queue) >= self.queue_limit
                    or self._queued[found.namespace] >= NAMESPACE_QUEUE
                ):
                    self._count("dropped")
                    continue
                bucket = self._buckets.get(found.key)
                if bucket is not None and not bucket.try_take():
                    self._count("rate_limited")
                    continue
                self._seen[mark] = now
                self._queued[found.namespace] += 1
                provider = f"{found.namespace}/{found.spec.provider_ref.name}"
                extra = dict(found.spec.event_metadata or {})
                if found.spec.summary:
                    extra["summary"] = found.spec.summary
                delivery = Delivery(
                    found.key, provider, event.with_metadata(extra) if extra else event
                )
                heapq.heappush(self._queue, (now, next(self._sequence), delivery))
                self._lock.notify()

    def _forget_old(self, now: float) -> None:
        """Drop what the dedupe window has passed (at most every few seconds)."""
        if now - self._swept < SWEEP:
            return
        self._swept = now
        stale = [mark for mark, at in self._seen.items() if now - at > self.dedupe_window]
        for mark in stale:
            del self._seen[mark]

    # -- delivering ---------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._stopping = False
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"notify-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._stopping:
                    if self._queue and self._queue[0][0] <= self.clock():
                        _, _, delivery = heapq.heappop(self._queue)
                        if delivery.provider not in self._busy:
                            break
                        # One delivery per Provider at a time: a slow one holds one worker.
                        heapq.heappush(
                            self._queue, (self.clock() + BUSY_WAIT, next(self._sequence), delivery)
                        )
                        continue
                    wait = self._queue[0][0] - self.clock() if self._queue else None
                    self._lock.wait(wait)
                if self._stopping:
                    return
                self._busy.add(delivery.provider)
            try:
                self._deliver(delivery)
            finally:
                with self._lock:
                    self._busy.discard(delivery.provider)
                    if delivery.done:
                        namespace = delivery.provider.partition("/")[0]
                        self._queued[namespace] -= 1
                        if self._queued[namespace] <= 0:
                            del self._queued[namespace]

    def _deliver(self, delivery: Delivery) -> None:
        delivery.done = True  # unless it is queued again for a retry
        with self._lock:
            spec = self._providers.get(delivery.provider)
            failing = not self.stats.get(delivery.provider, ProviderStats()).last_ok
        if spec is None or spec.suspend:
            self._count("no_provider" if spec is None else "suspended")
            return
        try:
            target, options = self._target(delivery.provider, spec)
            request = payloads.render(target, delivery.event)
            sender.post(request, self.check, options)
        except payloads.NotForThisProviderError:
            self._count("skipped")  # a commit status for an event that names no commit
        except payloads.PayloadError as error:
            self._failed(delivery.provider, str(error))
        except sender.DeliveryError as error:
            # A Provider already failing gets no retries (a breaker): it holds no worker.
            if error.retry and not failing and delivery.attempt < len(self.retries):
                delay = self.retries[delivery.attempt]
                delivery.attempt += 1
                delivery.done = False
                with self._lock:
                    due = self.clock() + delay
                    heapq.heappush(self._queue, (due, next(self._sequence), delivery))
                    self._lock.notify()
                self._count("retried")
                return
            self._failed(delivery.provider, error.message)
        except errors.LandlordError as error:
            self._failed(delivery.provider, error.message)
        except Exception as error:
            log.exception("notifications: delivery to %s failed", delivery.provider)
            self._failed(delivery.provider, f"{type(error).__name__}: {error}")
        else:
            self._succeeded(delivery.provider)

    def _target(self, key: str, spec: model.ProviderSpec) -> tuple[payloads.Target, sender.Options]:
        """The Provider's address and credentials: its Secret, read as the tenant."""
        namespace = key.partition("/")[0]
        fields: dict[str, str] = {}
        if spec.secret_ref is not None:
            fields = read_secret(self.kube, namespace, spec.secret_ref.name, "spec.secretRef")
        ca: str | None = fields.get("ca.crt")
        if spec.cert_secret_ref is not None:
            ca = (
                read_secret(
                    self.kube, namespace, spec.cert_secret_ref.name, "spec.certSecretRef"
                ).get("ca.crt")
                or ca
            )
        address = fields.get("address") or spec.address or ""
        if not address and spec.type != "github" and spec.type != "gitlab":
            raise errors.TerminalError("the Provider has no address (spec.address or its Secret's)")
        headers = parse_headers(fields.get("headers") or "")
        target = payloads.Target(
            type=spec.type,
            address=address,
            token=fields.get("token") or None,
            username=fields.get("username") or spec.username,
            channel=spec.channel,
            headers=tuple(headers.items()),
        )
        options = sender.Options(
            timeout=timeout_of(spec),
            ca_pem=ca.encode() if ca else None,
            proxy=fields.get("proxy") or spec.proxy,
        )
        return target, options

    def _succeeded(self, key: str) -> None:
        self._count("delivered")
        with self._lock:
            if key not in self._providers:
                return  # deleted meanwhile
            stats = self.stats.setdefault(key, ProviderStats())
            stats.delivered += 1
            changed = not stats.last_ok
            stats.last_ok, stats.refused = True, False
        if changed and self.on_provider is not None:
            self.on_provider(key)

    def _failed(self, key: str, why: str) -> None:
        self._count("failed")
        log.warning("notifications: delivery to Provider %s failed: %s", key, why)
        with self._lock:
            if key not in self._providers:
                return
            stats = self.stats.setdefault(key, ProviderStats())
            stats.failed += 1
            changed = stats.last_ok or stats.last_failure != why
            stats.last_ok = False
            stats.last_failure = why[:1024]
        if changed and self.on_provider is not None:
            self.on_provider(key)

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.notifications_total.labels(result=result).inc()


def parse_headers(text: str) -> dict[str, str]:
    """The Secret's ``headers``: a flat YAML mapping of names to plain values, small.

    No anchors or aliases (a few hundred bytes of them expand to gigabytes once
    turned into text), nothing nested; refused with the reason otherwise.
    """
    if not text.strip():
        return {}
    if len(text) > MAX_HEADERS_BYTES:
        raise errors.TerminalError(
            f"the Secret's `headers` is larger than {MAX_HEADERS_BYTES} bytes"
        )
    try:
        events = list(yaml.parse(text))
    except yaml.YAMLError:
        raise errors.TerminalError("the Secret's `headers` is not YAML") from None
    if any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None) for e in events):
        raise errors.TerminalError("the Secret's `headers` may not use YAML anchors or aliases")
    documents = yamlsafe.load_all_raw(text, "headers")
    loaded = documents[0] if len(documents) == 1 else None
    if not isinstance(loaded, dict) or len(loaded) > MAX_HEADERS:
        raise errors.TerminalError(
            f"the Secret's `headers` must be one mapping of at most {MAX_HEADERS} headers"
        )
    headers: dict[str, str] = {}
    for name, value in loaded.items():
        if not isinstance(name, str) or isinstance(value, dict | list) or value is None:
            raise errors.TerminalError(
                "the Secret's `headers` must map header names to plain values"
            )
        headers[name] = str(value)
    return headers


def timeout_of(spec: model.ProviderSpec) -> float:
    """The Provider's timeout, between 1 s and 15 s whatever it says."""
    return max(1.0, min(durations.parse(spec.timeout), MAX_TIMEOUT))


def read_secret(kube: Any, namespace: str, name: str, field: str) -> dict[str, str]:
    """A Secret beside the object, read as the tenant's reconciler account, decoded."""
    tenant = kube.as_service_account(namespace, labels.RECONCILER_SERVICE_ACCOUNT)
    try:
        secret = tenant.get("v1", "Secret", name, namespace)
    except errors.ApiError as error:
        if error.forbidden:
            raise errors.TerminalError(
                f"Secret {namespace}/{name} ({field}) may not be read by the tenant's "
                "reconciler account"
            ) from None
        raise
    if secret is None:
        raise errors.TerminalError(f"Secret {namespace}/{name} ({field}) not found")
    return {
        str(k): base64.b64decode(str(v)).decode(errors="replace").strip()
        for k, v in (secret.get("data") or {}).items()
    }
