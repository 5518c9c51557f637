"""The Helm chart: lint and template clean, every value checked and documented, in step."""

from __future__ import annotations

import pathlib
import re
import subprocess
from typing import Any

import pytest
import yaml

from landlord import settings
from landlord.cluster import binaries
from landlord.installer import rbac

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "landlord"
KUBE_VERSION = "1.36.3"


@pytest.fixture(scope="module")
def helm() -> pathlib.Path:
    return binaries.resolve(["helm"], cache_dir=settings.load().cluster.cache_dir)["helm"]


def _helm(helm: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, check=False)


def render(helm: pathlib.Path, *sets: str) -> list[dict[str, Any]]:
    args = ["template", "landlord", str(CHART), "-n", "landlord-system"]
    args += ["--kube-version", KUBE_VERSION, "--set", "image.tag=0.1.0-test"]
    for value in sets:
        args += ["--set", value]
    done = _helm(helm, *args)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


def test_the_charts_crds_are_the_same_files_as_landlords() -> None:
    ours = {p.name: p.read_bytes() for p in (ROOT / "platform/landlord/api/crds").glob("*.yaml")}
    charts = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert charts == ours


def test_the_charts_rbac_files_are_the_installers_rules() -> None:
    from landlord.installer import chartfiles

    for name, (constant, rules) in chartfiles.FILES.items():
        assert (CHART / "files" / name).read_text() == chartfiles.render(constant, rules), (
            f"{name} is stale: run `make chart`"
        )
    scope = (CHART / "files" / chartfiles.SCOPE).read_text()
    assert scope == chartfiles.render_scope(), "operator-scope.yaml is stale: run `make chart`"


def test_the_charts_admission_policy_is_what_landlord_install_applies(helm: pathlib.Path) -> None:
    from landlord.installer import admission

    kinds = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    rendered = [d for d in render(helm) if d["kind"] in kinds]
    assert rendered == admission.manifests("landlord-system")


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_charts_rbac_is_what_landlord_install_applies(helm: pathlib.Path) -> None:
    # Same objects, same rules, same subjects: the chart and `landlord install`
    # give the operator the same (least) privilege.
    rendered = render(helm, "rbac.tenantRoles={edit,team-deployer}")
    rbac_kinds = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    ours = {
        (d["kind"], d["metadata"]["name"]): d
        for d in rendered
        if d["kind"] in rbac_kinds and d["metadata"]["name"].startswith("landlord")
    }
    installed = {
        (d["kind"], d["metadata"]["name"]): d
        for d in rbac.manifests("landlord-system", ["edit", "team-deployer"])
        if d["kind"] in rbac_kinds
    }
    assert ours.keys() == installed.keys()
    for key, expected in installed.items():
        for field in ("rules", "roleRef", "subjects"):
            assert ours[key].get(field) == expected.get(field), (key, field)
    env = {
        item["name"]: item.get("value")
        for item in _by_kind(rendered)["Deployment"]["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
    }
    assert env["LANDLORD_TENANTS__ROLES"] == "edit,team-deployer"


def test_lint_is_clean_with_every_optional_part_on(helm: pathlib.Path) -> None:
    done = _helm(
        helm,
        "lint",
        str(CHART),
        "--strict",
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "image.tag=x,metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true",
        "--set",
        "policy.model=m,policy.csv=c,bootstrap.url=https://git.example/p.git",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_the_operator_runs_restricted_with_its_settings_from_the_release(
    helm: pathlib.Path,
) -> None:
    docs = _by_kind(render(helm))
    deployment = docs["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}

    assert container["image"] == "localhost/landlord/landlord:0.1.0-test"
    assert container["args"] == ["run", "--api"]
    assert env["LANDLORD_PLATFORM_NAMESPACE"] == "landlord-system"
    assert env["LANDLORD_TELEMETRY__HEALTH_BIND"] == "0.0.0.0:8081"
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        # RuntimeDefault plus the namespace calls of the build sandbox (the node's file).
        "seccompProfile": {"type": "Localhost", "localhostProfile": "landlord/sandbox.json"},
    }
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert pod["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    assert docs["ClusterRoleBinding"]["subjects"][0]["namespace"] == "landlord-system"
    env_names = [item["name"] for item in container["env"]]
    assert "LANDLORD_LEADER_ELECTION__ENABLED" in env_names
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert "PodDisruptionBudget" not in docs  # not over a single pod: it would block drains
    assert "GitRepository" not in docs


def test_bootstrap_values_give_what_landlord_bootstrap_applies(helm: pathlib.Path) -> None:
    from landlord.installer import bootstrap

    docs = _by_kind(
        render(helm, "bootstrap.url=https://git.example/p.git", "bootstrap.secretRef=creds")
    )
    expected = _by_kind(
        bootstrap.manifests(
            url="https://git.example/p.git",
            branch="main",
            path="tenants",
            platform_namespace="landlord-system",
            secret="creds",
        )
    )
    for kind in ("GitRepository", "Kustomization"):
        assert docs[kind]["spec"] == expected[kind]["spec"]
        assert docs[kind]["metadata"]["name"] == expected[kind]["metadata"]["name"]


def test_the_policy_values_become_the_configmap_the_operator_reads(helm: pathlib.Path) -> None:
    docs = _by_kind(render(helm, "policy.model=M", "policy.csv=C"))
    env = {
        e["name"]: e.get("value")
        for e in docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert docs["ConfigMap"]["data"] == {"model.conf": "M", "policy.csv": "C"}
    assert env["LANDLORD_POLICY__CONFIGMAP"] == docs["ConfigMap"]["metadata"]["name"]


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("replicas=11", "maximum"),
        ("replicas=2", "maximum"),  # the API is on: standbys would not serve it
        ("extraEnv[0].name=LANDLORD_LEADER_ELECTION__ENABLED", "'not' failed"),
        ("api.port=8081", "must differ"),
        ("unknown=1", "additional properties"),
        ("api.port=80", "minimum"),
        ("extraEnv[0].name=PATH", "does not match pattern"),
        ("bootstrap.path=/etc", "does not match pattern"),
        ("sharding.shards={default}", "'not' failed"),
        ("rbac.tenantRoles={admin,cluster-admin}", "'not' failed"),
        ("rbac.tenantRoles={system:aggregate-to-admin}", "'not' failed"),
    ],
)
def test_the_schema_refuses_bad_values_with_a_clear_message(
    helm: pathlib.Path, value: str, complaint: str
) -> None:
    done = _helm(
        helm,
        "template",
        "x",
        str(CHART),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "image.tag=x",
        "--set",
        value,
    )
    assert done.returncode != 0
    assert complaint in done.stderr.lower()


def test_a_missing_image_tag_says_which_tag_to_use(helm: pathlib.Path) -> None:
    done = _helm(helm, "template", "x", str(CHART), "--kube-version", KUBE_VERSION)
    assert done.returncode != 0
    assert "make image" in done.stderr


def _leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in ("resources", "seccompProfile"):
            found += _leaves(value, path + ".")
        else:
            found.append(path)
    return found


def test_the_readme_lists_every_value() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    listed = set(re.findall(r"^\| `([^`]+)` \|", (CHART / "README.md").read_text(), re.MULTILINE))
    assert set(_leaves(values)) == listed


def test_standbys_without_the_api_roll_and_get_a_disruption_budget(helm: pathlib.Path) -> None:
    docs = _by_kind(render(helm, "replicas=2", "api.enabled=false"))
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    identity = next(e for e in env if e["name"] == "LANDLORD_LEADER_ELECTION__IDENTITY")
    assert identity["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # With the API in the pods, the old pod stops before the new one leads.
    assert _by_kind(render(helm))["Deployment"]["spec"]["strategy"]["type"] == "Recreate"


def test_each_shard_gets_a_deployment_of_its_own_and_the_api_stays_on_the_default(
    helm: pathlib.Path,
) -> None:
    policy = "policy.model=m,policy.csv=c"
    docs = render(helm, "sharding.shards={blue,green}", "replicas=2", "api.enabled=false", policy)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert sorted(deployments) == [
        "landlord-operator",
        "landlord-operator-blue",
        "landlord-operator-green",
    ]
    selectors = [str(d["spec"]["selector"]["matchLabels"]) for d in deployments.values()]
    assert len(set(selectors)) == 3  # no Deployment adopts another's pods
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert all(
            pod["metadata"]["labels"][k] == v
            for k, v in deployment["spec"]["selector"]["matchLabels"].items()
        )
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env.get("LANDLORD_SHARD__NAME") == (
            name.removeprefix("landlord-operator-") if name != "landlord-operator" else None
        )
    assert len([d for d in docs if d["kind"] == "PodDisruptionBudget"]) == 3

    with_api = render(helm, "sharding.shards={blue}", policy)
    args = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["args"]
        for d in with_api
        if d["kind"] == "Deployment"
    }
    assert args == {"landlord-operator": ["run", "--api"], "landlord-operator-blue": ["run"]}
    # The metrics Service and the NetworkPolicy cover every shard's pods.
    metrics = next(
        d for d in with_api if d["kind"] == "Service" and "metrics" in d["metadata"]["name"]
    )
    assert "app.kubernetes.io/component" not in metrics["spec"]["selector"]


def test_the_sandbox_seccomp_profile_is_runtime_default_plus_namespaces_only() -> None:
    from landlord.cluster.realnode import configs

    shipped = (CHART / "files" / "seccomp-sandbox.json").read_bytes()
    assert shipped == (configs.SECCOMP_PROFILES / "sandbox.json").read_bytes()
    profile = yaml.safe_load(shipped)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"  # an allow list, like RuntimeDefault
    allowed = {
        name
        for rule in profile["syscalls"]
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
        for name in rule["names"]
    }
    assert {"unshare", "clone", "mount", "pivot_root"} <= allowed
    # Still refused, as by RuntimeDefault without capabilities.
    for name in (
        "bpf",
        "kexec_load",
        "init_module",
        "perf_event_open",
        "setns",
        "add_key",
        "keyctl",
    ):
        assert name not in allowed, name


def test_shards_without_the_policy_as_values_fail_with_the_reason(helm: pathlib.Path) -> None:
    # Only the default shard fetches the platform repository's policy/ folder.
    args = ["template", "x", str(CHART), "--kube-version", KUBE_VERSION]
    done = _helm(helm, *args, "--set", "image.tag=x", "--set", "sharding.shards={blue}")
    assert done.returncode != 0
    assert "policy.model and policy.csv" in done.stderr
