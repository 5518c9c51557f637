"""What ties a change to its request: ids for the commit's trailers, annotations and logs."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json

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
    # The caller's ``Idempotency-Key`` (then also the request id): a retry with it is
    # answered from the first request's commit instead of committing again.
    key: str | None = None
    digest: str | None = None  # what the request asked, to tell a retry from a reuse

    @classmethod
    def now(cls, request_id: str, key: str | None = None) -> RequestContext:
        return cls(
            request_id=key or request_id,
            traceparent=telemetry.traceparent(),
            trace_id=telemetry.trace_id(),
            time=datetime.datetime.now(datetime.UTC).isoformat(),
            key=key,
        )

    def asking(self, operation: str, name: str, payload: object) -> RequestContext:
        """The context, with the digest of what the request asks (operation, tenant, body)."""
        text = json.dumps([operation, name, payload], sort_keys=True, separators=(",", ":"))
        return dataclasses.replace(self, digest=hashlib.sha256(text.encode()).hexdigest()[:32])


def trailers(caller: Caller, context: RequestContext, operation: str) -> dict[str, str]:
    """The commit's trailers, each value one bounded line: a caller cannot add a trailer."""
    found = {
        "Landlord-Operation": operation,
        "Landlord-Requested-By": caller.user,
        "Landlord-Request-Id": context.request_id,
    }
    if context.trace_id:
        found["Landlord-Trace-Id"] = context.trace_id
    if context.key:
        found["Landlord-Idempotency-Key"] = context.key
        found["Landlord-Request-Digest"] = context.digest or ""
    return {key: text.one_line(value) for key, value in found.items()}
