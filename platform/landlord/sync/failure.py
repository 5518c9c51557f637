"""The error every sync step raises: the Ready reason it stands for, and whether it is terminal."""

from __future__ import annotations

from landlord import errors


class SyncError(errors.LandlordError):
    """A failing step: its condition reason, a message the tenant can act on.

    ``stalled``: a configuration problem that retrying cannot fix (the
    Kustomization is marked Stalled until its spec or its revision changes).
    """

    def __init__(self, reason: str, message: str, *, stalled: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.stalled = stalled

    @property
    def terminal(self) -> bool:
        """Alias of ``stalled``, in :mod:`landlord.errors`' words."""
        return self.stalled
