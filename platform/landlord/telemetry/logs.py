"""JSON (or plain text) logs that carry the current trace and span ids."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any, TextIO

from opentelemetry import trace

from landlord import settings as settings_mod

# Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


def _trace_ids() -> dict[str, str]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_trace_ids())
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines, with the trace id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = _trace_ids()
        return f"{line} trace_id={ids['trace_id']}" if ids else line


def configure_logging(
    config: settings_mod.TelemetrySettings,
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route the root logger to ``stream`` (stderr by default) in the configured format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if config.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_landlord", False):
            root.removeHandler(old)
    handler._landlord = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(config.log_level)
    return handler
