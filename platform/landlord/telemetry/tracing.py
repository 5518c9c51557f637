"""OpenTelemetry tracing, with the exporter chosen by settings (none, console, OTLP)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from landlord import settings as settings_mod
from landlord.api import labels

# Beside ``landlord.dev/traceparent``: Landlord's HMAC of it for this object.
TRACEPARENT = labels.TRACEPARENT
TRACEPARENT_SIGNATURE = labels.PREFIX + "traceparent-signature"
_TRACER_NAME = "landlord"
_PROPAGATOR = TraceContextTextMapPropagator()
AttributeValue = str | bool | int | float


def build_provider(
    config: settings_mod.TelemetrySettings,
    *,
    console_stream: TextIO | None = None,
) -> TracerProvider:
    """A tracer provider whose exporter follows ``config.traces_exporter``.

    ``none`` still records spans (so trace ids reach the logs), but exports nothing.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    exporter: SpanExporter | None = None
    if config.traces_exporter == "console":
        exporter = (
            ConsoleSpanExporter(out=console_stream) if console_stream else (ConsoleSpanExporter())
        )
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif config.traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = (
            OTLPSpanExporter(endpoint=config.otlp_endpoint)
            if config.otlp_endpoint
            else (OTLPSpanExporter())
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(config: settings_mod.TelemetrySettings) -> TracerProvider:
    """Install the configured provider as the process-wide one."""
    provider = build_provider(config)
    trace.set_tracer_provider(provider)
    return provider


@contextlib.contextmanager
def span(
    name: str,
    attributes: Mapping[str, AttributeValue] | None = None,
    *,
    provider: trace.TracerProvider | None = None,
    parent: str | None = None,
    link: str | None = None,
) -> Iterator[trace.Span]:
    """Run the block inside a span named ``name``; exceptions are recorded on it.

    ``parent`` (a W3C ``traceparent``) continues a trace another process started,
    such as the onboarding request recorded on a Tenant; ``link`` only points at one.
    """
    tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=provider)
    context = _extract(parent) if parent else None
    links = []
    if link:
        linked = trace.get_current_span(_extract(link)).get_span_context()
        if linked.is_valid:
            links.append(trace.Link(linked))
    with tracer.start_as_current_span(
        name, context=context, attributes=dict(attributes or {}), links=links
    ) as current:
        yield current


def _extract(traceparent: str) -> Context:
    return _PROPAGATOR.extract({"traceparent": traceparent})


def traceparent() -> str | None:
    """The current span as a W3C ``traceparent`` header value (None outside a span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def trace_id() -> str | None:
    """The current trace's id in hex (None outside a span)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def trace_id_of(traceparent_value: str) -> str | None:
    """The trace id a ``traceparent`` carries, or None if it is malformed."""
    context = trace.get_current_span(_extract(traceparent_value)).get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def add_event(name: str, attributes: Mapping[str, AttributeValue]) -> None:
    """Record an event on the current span (a no-op outside one)."""
    trace.get_current_span().add_event(name, attributes=dict(attributes))


def subject(kind: str, namespace: str | None, name: str) -> str:
    """What a traceparent signature is bound to: one object, ``Kind/namespace/name``."""
    return f"{kind}/{namespace or ''}/{name}"


class TraceSigner:
    """Marks a ``landlord.dev/traceparent`` as written by Landlord, for one object.

    Anyone who may annotate an object may write a traceparent on it, and a
    tenant may annotate its own GitRepositories and Kustomizations; honoured
    as a parent, such a value would add the tenant's spans to another request's
    trace. So the onboarding API (and the tenant operator, for the objects it
    provisions from a Tenant) writes beside each traceparent an HMAC-SHA256 of
    ``Kind/namespace/name`` and the traceparent, keyed with a Secret of the
    platform namespace that only the operator and the API read. A copy on
    another object does not verify, and neither does a value nobody signed.

    ``key`` is called until it returns a key (None: not available yet, e.g.
    before the platform namespace exists); without one nothing is signed and
    nothing verifies, so traces fail closed, never open.
    """

    def __init__(self, key: Callable[[], bytes | None]) -> None:
        self._load = key
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _current(self) -> bytes | None:
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def sign(self, subject_value: str, traceparent_value: str) -> str | None:
        """The signature for ``traceparent_value`` on that object (None: no key)."""
        key = self._current()
        if key is None:
            return None
        message = f"{subject_value}\n{traceparent_value}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def verify(self, subject_value: str, traceparent_value: str, signature: str) -> bool:
        """Whether ``signature`` is Landlord's for this traceparent on this object."""
        expected = self.sign(subject_value, traceparent_value)
        return expected is not None and hmac.compare_digest(expected, signature.strip().lower())


class Origins:
    """Which request trace each object's reconciles continue.

    An object annotated with a ``traceparent`` (an onboarding request) has its
    reconciles recorded as children of that request's span until one of them
    succeeds; later reconciles start their own trace and only link to it, so a
    request's trace ends when its change is in place instead of growing forever.
    Kept per process: after a restart the next reconcile joins the trace again.

    Only a traceparent signed for the object by ``signer`` counts (see
    :class:`TraceSigner`); any other is ignored, so without a signer none does.
    """

    def __init__(self, signer: TraceSigner | None = None) -> None:
        self.signer = signer
        self._done: dict[str, str] = {}
        self._lock = threading.Lock()

    def trusted(self, kind: str, body: Mapping[str, Any]) -> str | None:
        """The object's traceparent if Landlord signed it for this object, else None."""
        metadata = body.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        value = annotations.get(TRACEPARENT)
        if not value or self.signer is None:
            return None
        bound = subject(kind, metadata.get("namespace"), str(metadata.get("name") or ""))
        signature = str(annotations.get(TRACEPARENT_SIGNATURE) or "")
        return str(value) if self.signer.verify(bound, str(value), signature) else None

    def stamp(self, kind: str, manifest: dict[str, Any], traceparent_value: str | None) -> None:
        """Carry a trusted traceparent on to ``manifest``, signed for it (or carry none)."""
        metadata = manifest.setdefault("metadata", {})
        annotations = metadata.get("annotations") or {}
        annotations.pop(TRACEPARENT, None)
        annotations.pop(TRACEPARENT_SIGNATURE, None)
        signature = None
        if traceparent_value and self.signer is not None:
            bound = subject(kind, metadata.get("namespace"), str(metadata.get("name") or ""))
            signature = self.signer.sign(bound, traceparent_value)
        if traceparent_value and signature:
            annotations[TRACEPARENT] = traceparent_value
            annotations[TRACEPARENT_SIGNATURE] = signature
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)

    def parent_and_link(
        self, key: str, traceparent_value: str | None
    ) -> tuple[str | None, str | None]:
        """The ``parent`` and ``link`` arguments of :func:`span` for a reconcile of ``key``."""
        if not traceparent_value:
            return None, None
        with self._lock:
            finished = self._done.get(key) == traceparent_value
        return (None, traceparent_value) if finished else (traceparent_value, None)

    def finished(self, key: str, traceparent_value: str | None) -> None:
        """A reconcile of ``key`` under this trace succeeded."""
        if traceparent_value:
            with self._lock:
                self._done[key] = traceparent_value

    def forget(self, key: str) -> None:
        with self._lock:
            self._done.pop(key, None)
