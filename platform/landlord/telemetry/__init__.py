"""Telemetry: structured logs, Prometheus metrics and OpenTelemetry traces.

The only package that imports ``prometheus_client`` and ``opentelemetry``.
Everything else asks it for a logger, a metric or a span. Configuration is
passed in as :class:`landlord.settings.TelemetrySettings`.
"""

from __future__ import annotations

from landlord.telemetry.logs import configure_logging
from landlord.telemetry.metrics import Metrics
from landlord.telemetry.tracing import (
    TRACEPARENT_SIGNATURE,
    Origins,
    TraceSigner,
    add_event,
    configure_tracing,
    span,
    trace_id,
    trace_id_of,
    traceparent,
)

__all__ = [
    "TRACEPARENT_SIGNATURE",
    "Metrics",
    "Origins",
    "TraceSigner",
    "add_event",
    "configure_logging",
    "configure_tracing",
    "span",
    "trace_id",
    "trace_id_of",
    "traceparent",
]
