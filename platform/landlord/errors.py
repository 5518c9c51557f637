"""Landlord's exceptions: one base class, split into terminal and retryable errors.

A :class:`TerminalError` is a configuration problem that retrying cannot fix (a
bad spec, a missing toolchain): report it and stop, or mark the object Stalled.
A :class:`RetryableError` is transient (a port race, an unreachable remote):
try again after ``delay`` seconds.

Every error carries a machine-readable ``reason`` (CamelCase, as in Kubernetes
condition reasons) and, where we know one, a ``hint`` telling the user what to do.

A :class:`RequestError` refuses a request as asked (not found, conflicting,
invalid, forbidden…), with ``fields`` naming the parts at fault; the layers
that raise one know nothing of HTTP, and the onboarding API alone turns each
kind into a status code.
"""

from __future__ import annotations


class LandlordError(Exception):
    """Base class of every error Landlord raises on purpose."""

    reason: str = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class TerminalError(LandlordError):
    """Retrying will not help until someone changes the input or the machine."""

    reason = "Stalled"


class RetryableError(LandlordError):
    """A transient failure; the same call may succeed after ``delay`` seconds.

    ``delay`` None (the default) leaves the wait to the caller's backoff (a
    controller's exponential one); a number is a wait the error knows it needs.
    """

    reason = "Retrying"

    def __init__(
        self, message: str, *, hint: str | None = None, delay: float | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.delay = delay


class ToolchainMissingError(TerminalError):
    """The Go toolchain needed to build the control plane is absent or too old."""

    reason = "ToolchainMissing"


class BinaryBuildError(TerminalError):
    """Building a control-plane binary from its Go module failed."""

    reason = "BuildFailed"


class BinaryNotFoundError(TerminalError):
    """A control-plane binary is missing from ``KUBEBUILDER_ASSETS``."""

    reason = "BinaryNotFound"


class StateDirError(TerminalError):
    """The control plane's state directory is in use, stale or unusable."""

    reason = "StateDirConflict"


class PortInUseError(RetryableError):
    """A control-plane component could not bind its port."""

    reason = "PortInUse"


class ComponentFailedError(TerminalError):
    """A control-plane process exited or never became ready."""

    reason = "ComponentFailed"

    def __init__(self, message: str, *, hint: str | None = None, log_tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = super().__str__()
        if self.log_tail:
            text += "\n  last log lines:\n" + "\n".join(
                "    " + line for line in self.log_tail.splitlines()
            )
        return text


# The api_reason of an ApiError for a request that got no answer.
UNANSWERED = "Unreachable"


class ApiError(RetryableError):
    """The apiserver refused or failed a request; ``status`` is the HTTP status."""

    reason = "ApiError"

    def __init__(
        self, message: str, *, status: int, api_reason: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.api_reason = api_reason

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def forbidden(self) -> bool:
        return self.status == 403

    @property
    def invalid(self) -> bool:
        return self.status == 422

    @property
    def unanswered(self) -> bool:
        """No answer at all: refused, timed out or reset before a status came back."""
        return self.api_reason == UNANSWERED


class ConcurrentUpdateError(RetryableError):
    """Someone else changed the same thing first (a rejected Git push): read again, retry."""


# -- refusals of a request (the onboarding API maps each to an HTTP status) ------


class RequestError(TerminalError):
    """A request Landlord refuses as asked; ``fields`` names the parts at fault."""

    reason = "Refused"

    def __init__(
        self, message: str, *, fields: dict[str, str] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.fields = dict(fields or {})


class MalformedError(RequestError):
    """The request cannot be read at all (not JSON, a header missing)."""

    reason = "Malformed"


class UnauthenticatedError(RequestError):
    """The caller did not prove who they are."""

    reason = "Unauthenticated"


class ForbiddenError(RequestError):
    """The caller is known, and the policy does not let them do this."""

    reason = "Forbidden"


class NotFoundError(RequestError):
    """What the request names does not exist."""

    reason = "NotFound"


class ConflictError(RequestError):
    """The request contradicts what exists (a name or namespace taken, a shared file)."""

    reason = "Conflict"


class InvalidError(RequestError):
    """The request reads fine and asks for something Landlord will not do."""

    reason = "Invalid"


class TooLargeError(RequestError):
    """The request is larger than Landlord reads."""

    reason = "TooLarge"


class UnavailableError(RetryableError):
    """Something the request needs is not there yet or not answering; try again later."""

    reason = "Unavailable"
