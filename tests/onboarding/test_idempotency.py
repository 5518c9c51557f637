"""A retried write with the same Idempotency-Key is answered from its first commit (issue 19)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.onboarding.conftest import Api


def _create(
    api: Api, token: str, name: str, key: str, spec: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    return api.call(
        "POST",
        "/v1/tenants",
        token,
        {"name": name, "spec": spec or {}},
        headers={"Idempotency-Key": key},
    )


def test_a_retried_create_is_answered_from_the_first_commit(onboarding_api: Api) -> None:
    name, key = onboarding_api.name("idem"), f"key-{uuid.uuid4().hex[:12]}"
    before = onboarding_api.commits()

    first = _create(onboarding_api, onboarding_api.admin_token, name, key)
    again = _create(onboarding_api, onboarding_api.admin_token, name, key)

    assert first[0] == 201, first
    assert again[0] == 201, again  # not 409 "already exists": it is the same request
    assert again[1]["commit"] == first[1]["commit"]
    assert again[1]["replayed"] is True
    assert first[1]["replayed"] is False
    assert again[1]["requestId"] == key
    assert onboarding_api.commits() == before + 1
    trailers = onboarding_api.commit_of(first[1]["commit"])["trailers"]
    assert trailers["Landlord-Idempotency-Key"] == key


def test_a_malformed_key_is_a_400(onboarding_api: Api) -> None:
    status, body, _ = _create(
        onboarding_api, onboarding_api.admin_token, onboarding_api.name("bad"), "no spaces ok"
    )
    assert status == 400, body
    assert "Idempotency-Key" in body["error"]
