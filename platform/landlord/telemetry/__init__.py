"""Telemetry: structured logs, Prometheus metrics and OpenTelemetry traces.

The only package that imports ``prometheus_client`` and ``opentelemetry``.
Everything else asks it for a logger, a metric or a span. Configuration is
passed in as :class:`landlord.settings.TelemetrySettings`.
"""

from __future__ import annotations

from landlord.telemetry.logs import configure_logging
from landlord.telemetry.metrics import Metrics
from landlord.telemetry.tracing import add_event, configure_tracing, span

__all__ = ["Metrics", "add_event", "configure_logging", "configure_tracing", "span"]
