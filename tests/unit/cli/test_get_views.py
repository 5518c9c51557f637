"""``landlord get``'s tables: one view per kind, the same core columns, cells read from bodies."""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
from rich.console import Console

from landlord import errors, kube
from landlord.cli import console, get, kinds

CORE = ["NAME", "READY", "REVISION", "SUSPENDED"]
CREATED = "2026-01-01T00:00:00Z"


def _body(kind: str, name: str = "web", namespace: str | None = "team", **parts: Any) -> Any:
    metadata: dict[str, Any] = {"name": name, "creationTimestamp": CREATED, "generation": 3}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "landlord.dev/v1alpha1", "kind": kind, "metadata": metadata, **parts}


def _ready(status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "message": message,
                "reason": "R",
                "lastTransitionTime": CREATED,
            }
        ],
        **extra,
    }


def _cells(view: get.View, body: Any, wide: bool = False) -> dict[str, str]:
    return dict(zip(view.headers(wide), view.row(body, wide), strict=True))


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda kind: kind.name)
def test_every_kind_has_the_core_columns_age_and_status_last(kind: kinds.Kind) -> None:
    headers = get.VIEWS[kind.name].headers()

    expected = CORE if kind.cluster_scoped or kind.platform_only else ["NAMESPACE", *CORE]
    assert headers[: len(expected)] == expected
    assert headers[-2:] == ["AGE", "STATUS"]
    wide = get.VIEWS[kind.name].headers(wide=True)
    assert set(headers) < set(wide)
    assert {"OBSERVED", "READY SINCE"} <= set(wide)


def test_a_kustomization_row_reads_its_revision_target_drift_and_message() -> None:
    body = _body(
        "Kustomization",
        spec={
            "cluster": "east",
            "suspend": True,
            "sourceRef": {"kind": "GitRepository", "name": "src"},
            "path": "./deploy",
        },
        status=_ready(
            "False",
            "apply failed: Deployment team/web is invalid",
            lastAppliedRevision="main@sha1:abc",
            lastAttemptedRevision="main@sha1:def",
            observedGeneration=2,
            lastDriftRepair={"time": CREATED, "objects": "Deployment team/web deleted"},
            inventory={
                "clusterName": "east",
                "entries": [{"id": "team_web_apps_Deployment", "v": "v1"}],
            },
        ),
    )
    view = get.VIEWS["Kustomization"]

    cells = _cells(view, body)
    wide = _cells(view, body, wide=True)

    assert cells["NAMESPACE"] == "team"
    assert cells["READY"] == "False"
    assert cells["REVISION"] == "main@sha1:abc"
    assert cells["SUSPENDED"] == "True"
    assert cells["CLUSTER"] == "east"
    assert cells["LAST DRIFT REPAIR"].endswith("ago: Deployment team/web deleted")
    assert cells["STATUS"] == "apply failed: Deployment team/web is invalid"
    assert "SOURCE" not in cells
    assert wide["SOURCE"] == "GitRepository/team/src"
    assert wide["PATH"] == "./deploy"
    assert wide["OBJECTS"] == "1"
    assert wide["ATTEMPTED"] == "main@sha1:def"
    assert wide["OBSERVED"] == "2/3"  # the status speaks of an older spec
    assert wide["READY SINCE"].endswith(" ago")


def test_revision_is_what_each_kind_fetched_or_applied_and_a_dash_elsewhere() -> None:
    source = _body("GitRepository", status={"artifact": {"revision": "main@sha1:abc"}})
    release = _body(
        "HelmRelease",
        status={
            "lastAttemptedRevision": "1.0.0",
            "helmChart": "settings@1.0.0",
            "history": [{"name": "web", "version": 2, "status": "deployed"}],
        },
    )
    tenant = _body("Tenant", namespace=None, status={"lastAppliedRevision": "main@sha1:1"})
    provider = _body("Provider", spec={"type": "slack"})

    assert _cells(get.VIEWS["GitRepository"], source)["REVISION"] == "main@sha1:abc"
    released = _cells(get.VIEWS["HelmRelease"], release)
    assert (released["REVISION"], released["CHART"], released["RELEASE"]) == (
        "1.0.0",
        "settings@1.0.0",
        "web.v2 (deployed)",
    )
    assert _cells(get.VIEWS["Tenant"], tenant)["REVISION"] == "main@sha1:1"
    assert _cells(get.VIEWS["Provider"], provider)["REVISION"] == "-"
    assert _cells(get.VIEWS["Provider"], provider)["TYPE"] == "slack"


def test_an_object_never_reconciled_is_unknown_and_says_so() -> None:
    cells = _cells(get.VIEWS["Alert"], _body("Alert"))

    assert (cells["READY"], cells["STATUS"], cells["SUSPENDED"]) == (
        "Unknown",
        "not reconciled yet",
        "False",
    )


def test_a_tenant_shows_its_namespaces_and_a_receiver_its_path_in_wide() -> None:
    tenant = _body("Tenant", name="acme", namespace=None, spec={"namespaces": ["a", "b"]})
    receiver = _body("Receiver", spec={"type": "github"}, status={"webhookPath": "/hook/x"})

    assert _cells(get.VIEWS["Tenant"], tenant)["NAMESPACES"] == "a,b"
    assert (
        _cells(get.VIEWS["Tenant"], _body("Tenant", name="solo", namespace=None))["NAMESPACES"]
        == "solo"
    )
    assert "WEBHOOK PATH" not in _cells(get.VIEWS["Receiver"], receiver)
    assert _cells(get.VIEWS["Receiver"], receiver, wide=True)["WEBHOOK PATH"] == "/hook/x"


def test_rows_are_sorted_by_namespace_then_name() -> None:
    items = [
        _body("GitRepository", "b", "y"),
        _body("GitRepository", "a", "y"),
        _body("GitRepository", "z", "x"),
    ]

    rows = get.VIEWS["GitRepository"].rows(items)

    assert [(row[0], row[1]) for row in rows] == [("x", "z"), ("y", "a"), ("y", "b")]


def test_structured_output_is_a_list_without_managed_fields_and_leaves_the_bodies_alone() -> None:
    body = _body("Kustomization")
    body["metadata"]["managedFields"] = [{"manager": "landlord"}]

    document = get.listing([body])

    assert document["kind"] == "List"
    assert document["apiVersion"] == "v1"
    assert "managedFields" not in document["items"][0]["metadata"]
    assert body["metadata"]["managedFields"] == [{"manager": "landlord"}]


def test_a_table_off_a_terminal_is_never_cut_or_wrapped() -> None:
    message = "health check failed: " + " ".join(
        f"Deployment team/app-{i} 0/1 ready" for i in range(20)
    )
    body = _body(
        "Kustomization", name="a-" + "long-" * 20 + "name", status=_ready("False", message)
    )
    buffer = io.StringIO()
    piped = Console(file=buffer, width=console.UNLIMITED_WIDTH, no_color=True)

    piped.print(get.render(get.VIEWS["Kustomization"], [body]))

    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2  # the header and one row: nothing wrapped
    assert lines[1].rstrip().endswith(message)
    assert body["metadata"]["name"] in lines[1]


def test_markup_in_a_message_is_printed_as_it_is() -> None:
    body = _body("GitRepository", status=_ready("False", "ref [bold]main[/bold] not found"))
    buffer = io.StringIO()

    Console(file=buffer, width=500, no_color=True).print(
        get.render(get.VIEWS["GitRepository"], [body])
    )

    assert "ref [bold]main[/bold] not found" in buffer.getvalue()


def test_the_aliases_of_reconcile_are_the_same_as_before_plus_the_new_kinds() -> None:
    before = {
        "tenant": "Tenant", "tenants": "Tenant", "tnt": "Tenant",
        "source": "GitRepository", "sources": "GitRepository", "gitrepository": "GitRepository",
        "gitrepositories": "GitRepository", "gitrepo": "GitRepository",
        "kustomization": "Kustomization", "kustomizations": "Kustomization", "ks": "Kustomization",
        "helmrelease": "HelmRelease", "helmreleases": "HelmRelease", "hr": "HelmRelease",
        "helmrepository": "HelmRepository", "helmrepositories": "HelmRepository",
        "helmrepo": "HelmRepository", "provider": "Provider", "providers": "Provider",
        "alert": "Alert", "alerts": "Alert", "receiver": "Receiver", "receivers": "Receiver",
    }  # fmt: skip
    added = {  # issue 23: OCI sources and image automation
        "ocirepository": "OCIRepository", "ocirepositories": "OCIRepository",
        "ocirepo": "OCIRepository", "imagerepository": "ImageRepository",
        "imagerepositories": "ImageRepository", "imagerepo": "ImageRepository",
        "imagepolicy": "ImagePolicy", "imagepolicies": "ImagePolicy", "imagepol": "ImagePolicy",
        "imageupdateautomation": "ImageUpdateAutomation",
        "imageupdateautomations": "ImageUpdateAutomation", "imageupdate": "ImageUpdateAutomation",
    }  # fmt: skip

    assert before | added == kinds.KINDS
    assert kinds.resolve("clusters").name == "Cluster"
    assert kinds.resolve("KS").name == "Kustomization"


class _Client:
    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def list_objects(self, api_version: str, kind: str, **_: Any) -> list[Any]:
        return [item for item in self.items if item["kind"] == kind]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        return None


def test_one_name_in_several_namespaces_asks_for_one_and_none_is_not_found() -> None:
    client = cast(
        kube.Kube, _Client([_body("Kustomization", "web", "a"), _body("Kustomization", "web", "b")])
    )
    ks = kinds.BY_NAME["Kustomization"]

    with pytest.raises(errors.TerminalError, match="exists in namespaces a, b"):
        get.one(client, ks, "web", namespace=None, platform_namespace="landlord-system")
    with pytest.raises(errors.NotFoundError, match="not found in any namespace"):
        get.one(client, ks, "api", namespace=None, platform_namespace="landlord-system")
    with pytest.raises(errors.NotFoundError, match="in namespace a"):
        get.one(client, ks, "api", namespace="a", platform_namespace="landlord-system")


def test_tenants_in_a_namespace_are_those_that_own_it() -> None:
    client = cast(
        kube.Kube,
        _Client(
            [
                _body("Tenant", "acme", None, status={"namespaces": ["acme", "acme-dev"]}),
                _body("Tenant", "other", None),
            ]
        ),
    )
    tenant = kinds.BY_NAME["Tenant"]

    owning = get.fetch(client, tenant, namespace="acme-dev", platform_namespace="x")

    assert [body["metadata"]["name"] for body in owning] == ["acme"]
    assert len(get.fetch(client, tenant, namespace=None, platform_namespace="x")) == 2


def test_a_password_in_a_source_url_is_never_shown_in_a_table() -> None:
    body = _body("GitRepository", spec={"url": "https://bot:s3cr3t@git.example/team.git"})

    cell = _cells(get.VIEWS["GitRepository"], body, wide=True)["URL"]

    assert cell == "https://bot:***@git.example/team.git"
    assert get.shown_url("ssh://git@git.example/team.git") == "ssh://git@git.example/team.git"
    assert get.shown_url(None) == "-"
