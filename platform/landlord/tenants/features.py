"""Feature switches of the tenant operator (``LANDLORD_FEATURES__<NAME>``).

Turning a feature off removes every object it created, for every tenant, on
the next reconcile; turning it back on recreates them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Features:
    """Which optional parts of a tenant the operator provisions."""

    network_isolation: bool = True
    quotas: bool = True
    limit_ranges: bool = True

    @classmethod
    def from_flags(cls, flags: Mapping[str, bool]) -> Features:
        """Read the switches from settings' ``features`` (missing means on)."""
        return cls(
            network_isolation=flags.get("network_isolation", True),
            quotas=flags.get("quotas", True),
            limit_ranges=flags.get("limit_ranges", True),
        )
