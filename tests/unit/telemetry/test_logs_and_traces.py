"""Logs are JSON with the current trace and span ids; spans go where settings say."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from landlord import settings, telemetry
from landlord.telemetry import tracing


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = telemetry.configure_logging(settings.TelemetrySettings(), stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_log_lines_are_json_with_extras(captured: io.StringIO) -> None:
    logging.getLogger("landlord.test").info("tenant ready", extra={"tenant": "team-a"})

    entry = json.loads(captured.getvalue().splitlines()[-1])
    assert entry["message"] == "tenant ready"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "landlord.test"
    assert entry["tenant"] == "team-a"
    assert "trace_id" not in entry


def test_log_lines_inside_a_span_carry_its_ids(captured: io.StringIO) -> None:
    provider = tracing.build_provider(settings.TelemetrySettings())

    with telemetry.span("reconcile", {"tenant": "team-a"}, provider=provider) as current:
        logging.getLogger("landlord.test").info("applying")
        context = current.get_span_context()

    entry = json.loads(captured.getvalue().splitlines()[-1])
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_console_exporter_writes_finished_spans() -> None:
    out = io.StringIO()
    provider = tracing.build_provider(
        settings.TelemetrySettings(traces_exporter="console"), console_stream=out
    )

    with telemetry.span("fetch", {"source": "team-a"}, provider=provider):
        pass
    provider.shutdown()

    exported = json.loads(out.getvalue())
    assert exported["name"] == "fetch"
    assert exported["attributes"] == {"source": "team-a"}


def test_none_exporter_exports_nothing_but_still_traces() -> None:
    provider = tracing.build_provider(settings.TelemetrySettings(traces_exporter="none"))

    with telemetry.span("fetch", provider=provider) as current:
        assert current.get_span_context().is_valid
    provider.shutdown()


def test_metrics_live_in_their_own_registry() -> None:
    first, second = telemetry.Metrics(), telemetry.Metrics()

    first.controlplane_start_seconds.labels(component="etcd").observe(0.7)

    assert b'landlord_controlplane_start_seconds_count{component="etcd"} 1.0' in (
        first.exposition()
    )
    assert b'component="etcd"' not in second.exposition()
