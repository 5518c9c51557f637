"""OpenTelemetry tracing, with the exporter chosen by settings (none, console, OTLP)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TextIO

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


class Origins:
    """Which request trace each object's reconciles continue.

    An object annotated with a ``traceparent`` (an onboarding request) has its
    reconciles recorded as children of that request's span until one of them
    succeeds; later reconciles start their own trace and only link to it, so a
    request's trace ends when its change is in place instead of growing forever.
    Kept per process: after a restart the next reconcile joins the trace again.
    """

    def __init__(self) -> None:
        self._done: dict[str, str] = {}
        self._lock = threading.Lock()

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
