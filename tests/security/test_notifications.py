"""Alerts and Providers: a tenant's outbound requests, and the events it may see.

A Provider's address is a request the operator makes for the tenant (as a
source URL is): the apiserver and the metadata address are refused before
any connection. An Alert sees its own tenant's objects only: naming another
tenant's namespace needs a policy line, and without it nothing of that
tenant's events leaves.
"""

from __future__ import annotations

import urllib.parse

from landlord import kube
from tests.fixtures.notify import Recorder
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.notifications.test_alerts import _apply, _condition, _ready
from tests.sync.conftest import TenantRepo
from tests.sync.test_apply_and_prune import config_map


def test_a_provider_at_the_apiserver_or_the_metadata_address_is_refused(
    tenant_repo: TenantRepo, admin: kube.Kube, operator: OperatorProcess
) -> None:
    ns = tenant_repo.name
    server = urllib.parse.urlsplit(admin.configuration.host)
    targets = {
        "apiserver": f"https://{server.hostname}:{server.port}/api/v1/namespaces",
        "metadata": "http://169.254.169.254/latest/meta-data/",
    }
    for name, address in targets.items():
        _apply(admin, "Provider", ns, name, {"type": "generic", "address": address})
        _apply(
            admin,
            "Alert",
            ns,
            name,
            {
                "providerRef": {"name": name},
                "eventSources": [{"kind": "Kustomization", "name": "*"}],
            },
        )

    for name in targets:
        ready = eventually(
            lambda n=name: c if (c := _condition(admin, "Provider", ns, n)).get("reason") else None,
            timeout=30,
            what=f"Provider {name} checked",
        )
        assert ready["status"] == "False"
        assert ready["reason"] == "AddressNotAllowed"
        assert "does not connect to this Provider's address" in ready["message"]
    # An event now: the delivery is refused before a connection, and counted as failed.
    sha = tenant_repo.push({"deploy/base.yaml": config_map("base", v="9")})
    tenant_repo.ready_at(sha)
    eventually(
        lambda: 'landlord_notifications_total{result="failed"}' in operator.metrics(),
        timeout=30,
        what="the refused deliveries to be counted",
    )


def test_an_alert_sees_another_tenants_events_only_where_the_policy_allows(
    tenant_repo: TenantRepo, tenants: Tenants, recorder: Recorder, admin: kube.Kube
) -> None:
    victim = tenant_repo.name
    sha = tenant_repo.push({"deploy/base.yaml": config_map("base")})
    tenant_repo.ready_at(sha)
    spy = tenants.create(tenants.name("spy"))
    tenants.ready(spy)
    _apply(admin, "Provider", spy, "out", {"type": "generic", "address": recorder.url("/spy")})
    _apply(
        admin,
        "Alert",
        spy,
        "watch-victim",
        {
            "providerRef": {"name": "out"},
            "eventSources": [{"kind": "Kustomization", "name": "*", "namespace": victim}],
        },
    )
    refused = eventually(
        lambda: c if (c := _condition(admin, "Alert", spy, "watch-victim")).get("reason") else None,
        timeout=30,
        what="the Alert checked",
    )
    assert refused["reason"] == "PolicyDenied"
    assert f"{victim}/*" in refused["message"]
    # The victim fails and recovers: nothing reaches the spy's Provider.
    broken = tenant_repo.push({"deploy/broken.yaml": "a: [\n"})
    tenant_repo.failed("BuildFailed", broken)
    fixed = tenant_repo.push({"deploy/broken.yaml": None})
    tenant_repo.ready_at(fixed)
    _ready(admin, "Provider", spy, "out")
    assert recorder.at("/spy") == []


def test_an_alert_pattern_re2_refuses_is_stalled_and_a_heavy_one_is_harmless(
    tenant_repo: TenantRepo, recorder: Recorder, admin: kube.Kube
) -> None:
    ns = tenant_repo.name
    _apply(admin, "Provider", ns, "out", {"type": "generic", "address": recorder.url("/re")})
    _apply(
        admin,
        "Alert",
        ns,
        "backreference",
        {
            "providerRef": {"name": "out"},
            "eventSources": [{"kind": "Kustomization", "name": "*"}],
            "inclusionList": [r"(a)\1"],
        },
    )
    stalled = eventually(
        lambda: c if (c := _condition(admin, "Alert", ns, "backreference")).get("reason") else None,
        timeout=30,
        what="the Alert checked",
    )
    assert stalled["reason"] == "InvalidSpec"
    assert "RE2" in stalled["message"]
    # A pattern that backtracks for ever in most engines: RE2 matches it in linear time.
    _apply(
        admin,
        "Alert",
        ns,
        "heavy",
        {
            "providerRef": {"name": "out"},
            "eventSources": [{"kind": "Kustomization", "name": "*"}],
            "exclusionList": ["(a+)+$", "(x+x+)+y"],
        },
    )
    _ready(admin, "Alert", ns, "heavy")
    # The failure's message names the file: a long run of "a" for the patterns to chew on.
    broken = tenant_repo.push({f"deploy/{'a' * 200}.yaml": "a: [\n"})
    tenant_repo.failed("BuildFailed", broken)
    # (The tenant's first applied revision may have been alerted too, as info.)
    eventually(
        lambda: [r for r in recorder.at("/re") if r.json["severity"] == "error"],
        timeout=30,
        what="the failure's alert",
    )
