"""Landlord's exceptions: one base class, split into terminal and retryable errors.

A :class:`TerminalError` is a configuration problem that retrying cannot fix (a
bad spec, a missing toolchain): report it and stop, or mark the object Stalled.
A :class:`RetryableError` is transient (a port race, an unreachable remote):
try again after ``delay`` seconds.

Every error carries a machine-readable ``reason`` (CamelCase, as in Kubernetes
condition reasons) and, where we know one, a ``hint`` telling the user what to do.
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
    """A transient failure; the same call may succeed after ``delay`` seconds."""

    reason = "Retrying"

    def __init__(self, message: str, *, hint: str | None = None, delay: float = 5.0) -> None:
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


class ConcurrentUpdateError(RetryableError):
    """Someone else changed the same thing first (a rejected Git push): read again, retry."""
