"""The API's routes: without receivers (the switch off), no webhook route at all."""

from __future__ import annotations

from typing import Any, cast

from landlord.onboarding.app import create_app
from landlord.onboarding.identity import Authenticator
from landlord.onboarding.receivers import Receivers
from landlord.onboarding.service import Onboarding


def _paths(receivers: Receivers | None) -> set[str]:
    app = create_app(
        cast(Onboarding, object()),
        receivers,
        cast(Authenticator, object()),
        max_body_bytes=1024,
    )
    schema: dict[str, Any] = app.openapi()
    return set(schema["paths"])


def test_receivers_route_only_with_receivers() -> None:
    assert "/v1/receivers/{name}" in _paths(cast(Receivers, object()))
    paths = _paths(None)
    assert "/v1/tenants" in paths
    assert not any(path.startswith("/v1/receivers") for path in paths)
