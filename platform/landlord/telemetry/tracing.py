"""OpenTelemetry tracing, with the exporter chosen by settings (none, console, OTLP)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TextIO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from landlord import settings as settings_mod

_TRACER_NAME = "landlord"
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
) -> Iterator[trace.Span]:
    """Run the block inside a span named ``name``; exceptions are recorded on it."""
    tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=provider)
    with tracer.start_as_current_span(name, attributes=dict(attributes or {})) as current:
        yield current


def add_event(name: str, attributes: Mapping[str, AttributeValue]) -> None:
    """Record an event on the current span (a no-op outside one)."""
    trace.get_current_span().add_event(name, attributes=dict(attributes))
