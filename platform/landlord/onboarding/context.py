"""What ties a change to its request: ids for the commit's trailers, annotations and logs."""

from __future__ import annotations

import dataclasses
import datetime

from landlord import telemetry
from landlord.onboarding import text
from landlord.onboarding.identity import Caller


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """One request's id, trace and time, carried into its commit and annotations."""

    request_id: str
    traceparent: str | None
    trace_id: str | None
    time: str  # RFC 3339, UTC

    @classmethod
    def now(cls, request_id: str) -> RequestContext:
        return cls(
            request_id=request_id,
            traceparent=telemetry.traceparent(),
            trace_id=telemetry.trace_id(),
            time=datetime.datetime.now(datetime.UTC).isoformat(),
        )


def trailers(caller: Caller, context: RequestContext, operation: str) -> dict[str, str]:
    """The commit's trailers, each value one bounded line: a caller cannot add a trailer."""
    found = {
        "Landlord-Operation": operation,
        "Landlord-Requested-By": caller.user,
        "Landlord-Request-Id": context.request_id,
    }
    if context.trace_id:
        found["Landlord-Trace-Id"] = context.trace_id
    return {key: text.one_line(value) for key, value in found.items()}
