"""The OpenAPI document, exercised property-based (schemathesis) over real HTTP: no 5xx.

A second API instance works on a throwaway platform repository (its own platform
namespace, no Kustomization applying it), so the generated requests may create,
change and delete tenants freely as the platform admin.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from landlord import api, kube, onboarding, telemetry
from landlord.cluster import ports
from landlord.wiring import api_main
from tests.fixtures.git import PASSWORD, USER
from tests.onboarding.conftest import Api

FUZZ_NAMESPACE = "onboarding-fuzz"
FUZZ_REPO = "onboarding-fuzz-platform"


@dataclasses.dataclass
class Fuzzed:
    url: str
    token: str
    metrics: telemetry.Metrics


@pytest.fixture(scope="module")
def fuzz_api(onboarding_api: Api) -> Iterator[Fuzzed]:
    admin: kube.Kube = onboarding_api.kube
    onboarding_api.git.create(FUZZ_REPO, pushable=True)
    onboarding_api.git.commit(FUZZ_REPO, {"tenants/README.md": "fuzzed\n"})
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FUZZ_NAMESPACE}},
        field_manager="tests",
    )
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "git", "namespace": FUZZ_NAMESPACE},
            "data": {
                "username": base64.b64encode(USER.encode()).decode(),
                "password": base64.b64encode(PASSWORD.encode()).decode(),
            },
        },
        field_manager="tests",
    )
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": "platform", "namespace": FUZZ_NAMESPACE},
            "spec": {
                "url": onboarding_api.git.url(FUZZ_REPO),
                "ref": {"branch": "main"},
                "secretRef": {"name": "git"},
                "interval": "1h",
            },
        },
        field_manager="tests",
    )
    config = onboarding_api.config.model_copy(deep=True)
    config.platform_namespace = FUZZ_NAMESPACE
    config.api.bind = f"127.0.0.1:{ports.free_ports(1)[0]}"
    config.api.workdir = onboarding_api.config.api.workdir.parent / "fuzz"
    config.api.wait_timeout = 1.0
    metrics = telemetry.Metrics()
    app = api_main.build_app(
        config, kube_client=admin, gate=onboarding_api.landlord.gate, metrics=metrics
    )
    server = onboarding.Background(app, config.api.bind).start()
    try:
        yield Fuzzed(
            url=f"http://{config.api.bind}", token=onboarding_api.admin_token, metrics=metrics
        )
    finally:
        server.stop()
        admin.core.delete_namespace(FUZZ_NAMESPACE)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# schemathesis' strategies use `random` the way this hypothesis version deprecates.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_generated_request_makes_the_api_fail(fuzz_api: Fuzzed) -> None:
    """Every operation, with valid and invalid data (schemathesis' own pytest plugin
    does not support pytest 9, so the operations are driven through its Python API)."""
    schema = schemathesis.openapi.from_url(f"{fuzz_api.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    headers = {"Authorization": f"Bearer {fuzz_api.token}"}
    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=fuzz_api.url, headers=headers, checks=CHECKS)

        run()

    # Not vacuous: generated requests got through to commits, and were refused with 4xx.
    seen = fuzz_api.metrics.exposition().decode()
    print("\n".join(line for line in seen.splitlines() if line.startswith("landlord_api_req")))
    assert 'route="/v1/tenants",status="201"' in seen
    assert 'status="422"' in seen
