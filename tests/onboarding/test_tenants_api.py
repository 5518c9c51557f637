"""Onboarding through the API: who may do what, what lands in Git, what the cluster does."""

from __future__ import annotations

from landlord.api import labels
from tests.onboarding.conftest import ADMINS, USERS, Api, owner_of

ADMIN_USER = f"system:serviceaccount:{ADMINS}:admin"


def test_admin_onboards_a_tenant_as_a_commit_and_waits_until_it_is_ready(
    onboarding_api: Api,
) -> None:
    name = onboarding_api.name()
    before = onboarding_api.commits()

    status, body, headers = onboarding_api.call(
        "POST",
        "/v1/tenants",
        onboarding_api.admin_token,
        {"name": name, "spec": {"quota": {"pods": "10"}}},
        wait=True,
    )

    assert status == 201, body
    assert body["ready"] is True, body
    assert body["requestId"] == headers["x-request-id"]
    assert onboarding_api.commits() == before + 1
    commit = onboarding_api.commit_of(body["commit"])
    assert commit["author"] == ADMIN_USER
    assert commit["subject"] == f"Onboard tenant {name}"
    assert commit["trailers"]["Landlord-Request-Id"] == body["requestId"]
    assert commit["trailers"]["Landlord-Trace-Id"] == body["traceId"]
    assert commit["trailers"]["Landlord-Requested-By"] == ADMIN_USER
    committed = onboarding_api.file(name)
    assert committed is not None
    assert committed["spec"] == {"quota": {"pods": "10"}}
    tenant = onboarding_api.tenant(name) or {}
    assert tenant["metadata"]["annotations"][labels.REQUEST_ID] == body["requestId"]
    assert (tenant.get("status") or {}).get("observedGeneration") == tenant["metadata"][
        "generation"
    ]

    status, view, _ = onboarding_api.call("GET", f"/v1/tenants/{name}", onboarding_api.admin_token)
    assert status == 200
    assert view["ready"] is True
    assert view["path"] == f"tenants/{name}.yaml"
    exposition = onboarding_api.landlord.metrics.exposition().decode()
    assert (
        'landlord_api_requests_total{method="POST",route="/v1/tenants",status="201"}' in exposition
    )
    assert 'landlord_onboarding_lead_time_seconds_count{operation="create"}' in exposition


def test_an_owner_reads_and_reconciles_its_tenant_but_creates_nothing(onboarding_api: Api) -> None:
    name = onboarding_api.name("owned")
    status, body, _ = onboarding_api.call(
        "POST",
        "/v1/tenants",
        onboarding_api.admin_token,
        {"name": name, "spec": {"owners": [owner_of(USERS, "owner")]}},
        wait=True,
    )
    assert status == 201, body
    assert body["ready"], body
    head = onboarding_api.head()

    status, view, _ = onboarding_api.call("GET", f"/v1/tenants/{name}", onboarding_api.owner_token)
    assert status == 200, view
    assert view["spec"]["owners"] == [owner_of(USERS, "owner")]
    status, listed, _ = onboarding_api.call("GET", "/v1/tenants", onboarding_api.owner_token)
    assert [item["name"] for item in listed["items"]] == [name]

    status, requested, _ = onboarding_api.call(
        "POST", f"/v1/tenants/{name}/reconcile", onboarding_api.owner_token
    )
    assert status == 202, requested
    annotations = (onboarding_api.tenant(name) or {})["metadata"]["annotations"]
    assert annotations[labels.REQUESTED_AT] == requested["requestedAt"]

    other = onboarding_api.name("not-mine")
    status, refused, _ = onboarding_api.call(
        "POST", "/v1/tenants", onboarding_api.owner_token, {"name": other, "spec": {}}
    )
    assert status == 403, refused
    assert "may not create tenant" in refused["error"]
    status, refused, _ = onboarding_api.call(
        "PATCH", f"/v1/tenants/{name}", onboarding_api.owner_token, {"quota": {"pods": "1"}}
    )
    assert status == 403, refused
    status, refused, _ = onboarding_api.call(
        "GET", f"/v1/tenants/{name}", onboarding_api.stranger_token
    )
    assert status == 403, refused
    assert onboarding_api.head() == head  # nothing committed


def test_a_missing_or_invalid_token_is_401_and_commits_nothing(onboarding_api: Api) -> None:
    head = onboarding_api.head()
    body = {"name": onboarding_api.name(), "spec": {}}

    status, problem, headers = onboarding_api.call("POST", "/v1/tenants", None, body)
    assert status == 401, problem
    assert headers["www-authenticate"].startswith("Bearer")
    status, problem, _ = onboarding_api.call("POST", "/v1/tenants", "not-a-token", body)
    assert status == 401, problem
    assert "did not accept" in problem["error"]
    tampered = onboarding_api.admin_token[:-4] + (
        "AAAA" if not onboarding_api.admin_token.endswith("AAAA") else "BBBB"
    )
    status, problem, _ = onboarding_api.call("GET", "/v1/tenants", tampered)
    assert status == 401, problem
    assert onboarding_api.head() == head


def test_invalid_requests_name_their_fields_and_commit_nothing(onboarding_api: Api) -> None:
    head = onboarding_api.head()
    token = onboarding_api.admin_token

    def refused(body: object, **kwargs: object) -> tuple[int, dict[str, object]]:
        status, problem, _ = onboarding_api.call("POST", "/v1/tenants", token, body, **kwargs)
        return status, problem

    status, problem = refused({"name": "kube-things", "spec": {}})
    assert status == 422, problem
    assert "name" in problem["fields"], problem
    status, problem = refused({"name": "Not_A_Name", "spec": {}})
    assert status == 422, problem
    assert "name" in problem["fields"], problem
    status, problem = refused({"name": onboarding_api.name(), "spec": {"quota": {"pods": "5000"}}})
    assert status == 422, problem
    assert "at most 1000" in problem["fields"]["spec.quota.pods"], problem
    status, problem = refused({"name": onboarding_api.name(), "spec": {"quota": {"pods": "lots"}}})
    assert status == 422, problem
    assert "spec.quota.pods" in problem["fields"], problem
    status, problem = refused(
        {"name": onboarding_api.name(), "spec": {"source": {"url": "ftp://example.com/r.git"}}}
    )
    assert status == 422, problem
    assert "not allowed" in problem["fields"]["spec.source.url"], problem
    status, problem = refused({"name": onboarding_api.name(), "spec": {"namespaces": ["default"]}})
    assert status == 422, problem
    assert "spec.namespaces" in problem["fields"], problem
    status, problem = refused({"name": onboarding_api.name(), "spec": {"colour": "blue"}})
    assert status == 422, problem
    assert "spec.colour" in problem["fields"], problem
    status, problem, _ = onboarding_api.call(
        "POST", "/v1/tenants", token, raw=b'{"name": "' + b"x" * 100_000 + b'"}'
    )
    assert status == 413, problem
    assert onboarding_api.head() == head


def test_update_and_offboard_through_the_api(onboarding_api: Api) -> None:
    name = onboarding_api.name("lifecycle")
    token = onboarding_api.admin_token
    status, body, _ = onboarding_api.call(
        "POST", "/v1/tenants", token, {"name": name, "spec": {}}, wait=True
    )
    assert status == 201, body
    assert body["ready"], body

    status, body, _ = onboarding_api.call(
        "PATCH", f"/v1/tenants/{name}", token, {"quota": {"pods": "7"}}, wait=True
    )
    assert status == 200, body
    assert body["ready"], body
    assert onboarding_api.commit_of(body["commit"])["subject"] == f"Update tenant {name}: quota"
    quota = onboarding_api.kube.get("v1", "ResourceQuota", labels.QUOTA, name) or {}
    assert quota["spec"]["hard"] == {"pods": "7"}
    status, same, _ = onboarding_api.call(
        "PATCH", f"/v1/tenants/{name}", token, {"quota": {"pods": "7"}}
    )
    assert status == 200, same
    assert same["commit"] is None, same

    status, body, _ = onboarding_api.call("DELETE", f"/v1/tenants/{name}", token, wait=True)
    assert status == 200, body
    assert body["ready"], body
    assert onboarding_api.file(name) is None
    assert onboarding_api.tenant(name) is None
    status, problem, _ = onboarding_api.call("GET", f"/v1/tenants/{name}", token)
    assert status == 404, problem
