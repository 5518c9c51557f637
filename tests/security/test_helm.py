"""A hostile tenant's charts and chart repositories: nothing they render or name gets past.

Each case is a HelmRelease (or HelmRepository) a tenant could ask for. What the
chart would create is rendered as the tenant and checked before Helm installs
anything; every URL is decided before a connection; Helm holds only the
tenant's own token.
"""

from __future__ import annotations

import io
import tarfile

import pytest

from landlord import kube
from landlord.demo import ChartServer
from tests.fixtures.helm import Releases, config_map_chart
from tests.fixtures.policy import PolicyFiles
from tests.helpers import Zeros, eventually


def _nothing_installed(admin: kube.Kube, namespace: str, release: str = "web") -> None:
    secrets = admin.list_objects(
        "v1", "Secret", namespace=namespace, label_selector=f"owner=helm,name={release}"
    )
    assert secrets == [], "helm stored a release"


@pytest.mark.parametrize(
    ("template", "reason", "says"),
    [
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
            "  name: {{ .Release.Namespace }}-root\nroleRef: {apiGroup: rbac.authorization.k8s.io,"
            " kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: ServiceAccount, "
            "name: landlord-reconciler, namespace: '{{ .Release.Namespace }}'}\n",
            "ValidationFailed",
            "ClusterRoleBinding is cluster-scoped",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: default\n",
            "ValidationFailed",
            "namespace 'default' is not one of the tenant's namespaces",
        ),
        (
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: unlimited\nspec:\n"
            "  hard: {pods: '100000'}\n",
            "PolicyDenied",
            "core/ResourceQuota",
        ),
        (
            # A hook is checked like every other object, though Helm runs it on its own.
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: "
            "hooked\n  annotations: {'helm.sh/hook': pre-install}\nrules: []\n",
            "ValidationFailed",
            "ClusterRole is cluster-scoped",
        ),
        (
            # A forged record of another release: rollback and uninstall read these.
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sh.helm.release.v1.other.v9\n"
            "type: helm.sh/release.v1\ndata: {release: e30=}\n",
            "ValidationFailed",
            "Helm's own release format",
        ),
    ],
    ids=[
        "cluster-role-binding",
        "other-namespace",
        "resource-quota",
        "cluster-scoped-hook",
        "forged-helm-record",
    ],
)
def test_a_chart_that_renders_a_forbidden_object_installs_nothing(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    template: str,
    reason: str,
    says: str,
) -> None:
    files = {**config_map_chart(), "templates/hostile.yaml": template}
    chart_server.publish(tenant, "hostile", "1.0.0", files)
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "hostile", "charts")

    body = releases.reason(tenant, "web", reason)

    ready = releases.condition(tenant, "web")
    assert says in ready["message"]
    assert "nothing was installed" in ready["message"]
    assert releases.condition(tenant, "web", "Stalled")["status"] == "True"
    assert body["status"].get("history") is None
    _nothing_installed(admin, tenant)
    assert admin.get("v1", "ConfigMap", "web-settings", tenant) is None
    assert admin.get("v1", "ConfigMap", "planted", "default") is None
    assert admin.get("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", f"{tenant}-root") is None


def test_a_chart_looking_up_the_platforms_secrets_gets_nothing(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    # `lookup` runs during the render, with the identity Helm holds: the tenant's token.
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "crown-jewels", "namespace": "landlord-system"},
            "stringData": {"token": "operator-secret-value"},
        },
        field_manager="test",
    )
    template = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loot\ndata:\n  stolen: "
        '{{ (lookup "v1" "Secret" "landlord-system" "crown-jewels") | toJson | quote }}\n'
    )
    chart_server.publish(tenant, "looter", "1.0.0", {"templates/loot.yaml": template})
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "looter", "charts")

    def settled() -> dict[str, str] | None:
        ready = releases.condition(tenant, "web")
        return ready if ready.get("reason") in ("InstallSucceeded", "RenderFailed") else None

    ready = eventually(settled, timeout=60, what="the looting chart to be decided")

    # The render as the tenant was refused by the apiserver itself: forbidden, said so.
    assert ready["reason"] == "RenderFailed"
    assert 'crown-jewels" is forbidden: User "system:serviceaccount:' in ready["message"]

    loot = admin.get("v1", "ConfigMap", "loot", tenant) or {}
    assert "operator-secret-value" not in str(loot)
    assert "b3BlcmF0b3Itc2VjcmV0LXZhbHVl" not in str(loot)  # nor base64
    assert "operator-secret-value" not in ready["message"]
    admin.delete("v1", "Secret", "crown-jewels", "landlord-system")


def test_a_repository_the_policy_denies_is_never_contacted(
    chart_server: ChartServer, releases: Releases, tenant: str, policy_files: PolicyFiles
) -> None:
    url = chart_server.url(f"{tenant}-denied")
    policy_files.add(f"p, tenant:{tenant}, source, {url}, deny")
    chart_server.publish(f"{tenant}-denied", "settings", "1.0.0", config_map_chart())
    before = chart_server.requests[f"{tenant}-denied"]
    releases.repository(tenant, "charts", url)

    def denied() -> dict[str, str] | None:
        body = releases.admin.get("landlord.dev/v1alpha1", "HelmRepository", "charts", tenant)
        ready = [
            c
            for c in ((body or {}).get("status") or {}).get("conditions", [])
            if c["type"] == "Ready"
        ]
        return ready[0] if ready and ready[0]["reason"] == "PolicyDenied" else None

    ready = eventually(denied, timeout=30, what="the HelmRepository to be denied")

    assert f"tenant:{tenant} may not use the source {url}" in ready["message"]
    assert chart_server.requests[f"{tenant}-denied"] == before


def _archive(*entries: tuple[str, bytes] | tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry, Zeros(entry.size) if entry.size else None)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return buffer.getvalue()


def _huge() -> tarfile.TarInfo:
    info = tarfile.TarInfo("evil/templates/huge.yaml")
    info.size = 300 * 1024**2
    return info


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("evil/../../escape.yaml", b"kind: ConfigMap\n"), "escapes the chart folder"),
        (_huge(), "is 314572800 bytes; the limit per file"),
    ],
    ids=["path-escape", "300-MiB-file"],
)
def test_a_hostile_chart_archive_is_refused_before_helm_reads_it(
    admin: kube.Kube,
    chart_server: ChartServer,
    releases: Releases,
    tenant: str,
    extra: tuple[str, bytes] | tarfile.TarInfo,
    says: str,
) -> None:
    chart_yaml = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"
    chart_server.put(tenant, "evil-1.0.0.tgz", _archive(("evil/Chart.yaml", chart_yaml), extra))
    chart_server.put(
        tenant,
        "index.yaml",
        b"apiVersion: v1\nentries:\n  evil:\n"
        b"  - {name: evil, version: 1.0.0, urls: [evil-1.0.0.tgz]}\n",
    )
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "evil", "charts")

    releases.reason(tenant, "web", "ChartInvalid")

    assert says in releases.condition(tenant, "web")["message"]
    _nothing_installed(admin, tenant)


def test_a_chart_url_pointing_at_the_apiserver_is_never_fetched(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    server, _ca, _verify = admin.endpoint()
    chart_server.put(
        tenant,
        "index.yaml",
        (
            "apiVersion: v1\nentries:\n  api:\n  - {name: api, version: 1.0.0, urls: "
            f"['{server}/api/v1/namespaces/landlord-system/secrets']}}\n"
        ).encode(),
    )
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "api", "charts")

    releases.reason(tenant, "web", "ChartPullFailed")

    # What an unreachable host shows: nothing says the address is the apiserver's.
    message = releases.condition(tenant, "web")["message"]
    assert message.startswith("could not fetch from https://"), message
    assert "apiserver" not in message.lower()
    _nothing_installed(admin, tenant)


def test_a_post_renderer_cannot_move_an_object_out_of_the_tenants_namespaces(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    chart_server.publish(tenant, "settings", "1.0.0", config_map_chart())
    releases.repository(tenant, "charts", chart_server.url(tenant))
    moved = '[{"op": "replace", "path": "/metadata/namespace", "value": "kube-system"}]'
    releases.release(
        tenant,
        "web",
        "settings",
        "charts",
        postRenderers=[
            {"kustomize": {"patches": [{"patch": moved, "target": {"kind": "ConfigMap"}}]}}
        ],
    )

    releases.reason(tenant, "web", "ValidationFailed")

    assert "namespace 'kube-system'" in releases.condition(tenant, "web")["message"]
    _nothing_installed(admin, tenant)
    assert admin.get("v1", "ConfigMap", "web-settings", "kube-system") is None


def test_a_charts_crds_folder_is_never_installed(
    admin: kube.Kube, chart_server: ChartServer, releases: Releases, tenant: str
) -> None:
    group = f"{tenant}.example.com"
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        f"  name: widgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n"
        "  names: {plural: widgets, singular: widget, kind: Widget}\n  versions:\n"
        "  - name: v1\n    served: true\n    storage: true\n    schema:\n"
        "      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
    )
    chart_server.publish(tenant, "crdful", "1.0.0", {**config_map_chart(), "crds/widget.yaml": crd})
    releases.repository(tenant, "charts", chart_server.url(tenant))
    releases.release(tenant, "web", "crdful", "charts")

    releases.reason(tenant, "web", "InstallSucceeded")

    assert (
        admin.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"widgets.{group}") is None
    )
    assert admin.get("v1", "ConfigMap", "web-settings", tenant) is not None
