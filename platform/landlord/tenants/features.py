"""Feature switches of the operator (``LANDLORD_FEATURES__<NAME>=true|false``).

Each switch turns one part of the chain off and back on. Off, the part runs no
watch, thread or endpoint, and what it made that nothing else manages is
removed; on again, it is restored (``docs/settings.md`` says what each removes).
Tenant parts (quotas, limit ranges, network isolation) are removed for every
tenant on its next reconcile. A flag the operator does not know stops start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from landlord import errors


class UnknownFeatureError(errors.TerminalError):
    """A ``LANDLORD_FEATURES__*`` flag that no part of Landlord answers to."""

    reason = "UnknownFeature"


@dataclasses.dataclass(frozen=True)
class Features:
    """Which parts of Landlord run (every one on unless switched off)."""

    # What the tenant controller provisions for every tenant.
    network_isolation: bool = True
    quotas: bool = True
    limit_ranges: bool = True
    # GitRepository controller: fetches and stored working clones.
    sources: bool = True
    # Kustomization controller: builds and applies.
    sync: bool = True
    # Watches on what the syncs applied, repairing changes at once (off: on each interval).
    drift_detection: bool = True
    # ImageRepository, ImagePolicy and ImageUpdateAutomation controllers.
    images: bool = True
    # The onboarding API's ``/v1/receivers/{name}`` webhooks.
    receivers: bool = True
    # The onboarding API itself (``landlord run --api``, ``landlord api``).
    api: bool = True

    @classmethod
    def names(cls) -> list[str]:
        """Every flag, in declaration order."""
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def from_flags(cls, flags: Mapping[str, bool]) -> Features:
        """Read the switches from settings' ``features`` (missing means on).

        Raises :class:`UnknownFeatureError` naming every flag it does not know.
        """
        known = cls.names()
        unknown = sorted(name for name in flags if name.lower() not in known)
        if unknown:
            raise UnknownFeatureError(
                "unknown feature flag"
                + ("s " if len(unknown) > 1 else " ")
                + ", ".join(f"LANDLORD_FEATURES__{name.upper()}" for name in unknown),
                hint="known flags: " + ", ".join(known),
            )
        return cls(**{name.lower(): bool(value) for name, value in flags.items()})

    def off(self) -> list[str]:
        """The flags switched off."""
        return [name for name in self.names() if not getattr(self, name)]
