"""A tenant's repository tries to read the operator's host, reach the network or exhaust it.

The build runs in bubblewrap: it sees only the artifact and kustomize. The
kustomization check before it is a second line. Both are attacked here: through
the real operator (check and sandbox together), and with the check switched
off, so the sandbox alone is shown to hold.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions
from landlord.cluster import binaries
from landlord.demo import GitServer
from landlord.gitops import sandbox, yamlsafe
from landlord.gitops.yamlsafe import YamlError
from landlord.settings import load
from landlord.sync import build, kustomization
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.security.conftest import TenantRepo

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: b\n"


def _kustomize() -> pathlib.Path:
    config = load()
    found = binaries.find(
        "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    assert found is not None, "make binaries builds kustomize"
    return found


def _refused(repo: TenantRepo, files: dict[str, Any], reason: str = "BuildFailed") -> str:
    """Push ``files``; the sync fails with ``reason`` and applies nothing; its message."""
    sha = repo.push(files)
    ready = repo.failed(reason, sha)
    assert repo.get("ConfigMap", "plain") is None, "nothing of a refused revision is applied"
    return str(ready["message"])


# -- through the operator: the check refuses before anything runs --------------


def test_a_generator_cannot_copy_etc_passwd(tenant_repo: TenantRepo) -> None:
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n"
            "- name: loot\n  files: [/etc/passwd]\n",
        },
    )
    assert "outside the repository" in message
    assert "root:" not in message


def test_the_operators_kubeconfig_cannot_be_read_by_climbing_out(
    tenant_repo: TenantRepo, control_plane: pathlib.Path
) -> None:
    climb = "../" * 12 + str(control_plane).lstrip("/")
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nsecretGenerator:\n"
            f"- name: loot\n  files: [kubeconfig={climb}]\n",
        },
    )
    assert "outside the repository" in message
    assert "BEGIN" not in message
    assert "client-key" not in message


@pytest.mark.parametrize(
    "field",
    ["ConfigMapGenerator", "CONFIGMAPGENERATOR", "configmapgenerator"],
)
def test_field_names_are_read_as_kustomize_reads_them(tenant_repo: TenantRepo, field: str) -> None:
    """Go's JSON decoding folds case: a differently spelt field is the same field."""
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": f"resources: [cm.yaml]\n{field}:\n"
            "- name: loot\n  FILES: [/etc/hostname]\n",
        },
    )
    assert "outside the repository" in message


def test_a_field_given_twice_in_two_spellings_is_refused(tenant_repo: TenantRepo) -> None:
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nResources: [/etc]\n",
        },
    )
    assert "given twice" in message


@pytest.mark.parametrize(
    ("generator", "words"),
    [
        # Go keeps the key that sorts last of two that fold alike; Python the one written last.
        ("  files: [/etc/passwd]\n  Files: [cm.yaml]\n", "given twice"),
        # Go folds U+017F (long s) into 's'; a check that lower-cases in Python never sees it.
        ("  file\u017f: [/etc/passwd]\n", "not a plain ASCII name"),
    ],
)
def test_nested_spellings_that_go_reads_otherwise_are_refused(
    tenant_repo: TenantRepo, generator: str, words: str
) -> None:
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": "resources: [cm.yaml]\nconfigMapGenerator:\n"
            f"- name: loot\n{generator}",
        },
    )
    assert words in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("helmCharts:\n- name: x\n  repo: https://charts.example\n", "Helm"),
        ("generators: [gen.yaml]\n", "plugins"),
        ("Transformers: [t.yaml]\n", "plugins"),
        ("resources: [cm.yaml]\nhelmChartInflationGenerator: []\n", "Helm"),
        ("resources: [cm.yaml]\nsomethingNew: true\n", "unknown field"),
    ],
)
def test_plugins_helm_and_unknown_fields_are_refused(
    tenant_repo: TenantRepo, body: str, words: str
) -> None:
    message = _refused(tenant_repo, {"deploy/cm.yaml": CM, "deploy/kustomization.yaml": body})
    assert words in message


def test_a_remote_base_at_the_apiserver_is_refused(
    tenant_repo: TenantRepo, admin: kube.Kube
) -> None:
    server = admin.api_client.configuration.host
    message = _refused(
        tenant_repo,
        {
            "deploy/cm.yaml": CM,
            "deploy/kustomization.yaml": f"resources:\n- cm.yaml\n- {server}/api/v1/secrets\n",
        },
    )
    assert "remote base" in message


def test_a_yaml_file_too_big_to_parse_cheaply_is_refused(tenant_repo: TenantRepo) -> None:
    """Parsing is Python work every tenant's workers share: its size is counted first."""
    flat = ",".join(["0"] * (yamlsafe.MAX_NODES + 10))
    message = _refused(
        tenant_repo,
        {"deploy/cm.yaml": CM, "deploy/big.yaml": f"{CM}  k: [{flat}]\n"},
    )
    assert "YAML nodes" in message


def test_a_symlink_chain_that_leaves_the_artifact_fails_the_source(
    admin: kube.Kube, git_server: GitServer, tenant_repo: TenantRepo
) -> None:
    """``b -> .`` and ``a -> b/…/b/../…/../etc/passwd``: each stays inside on paper.

    Read as text, ``a`` climbs twelve levels down and twelve up, to
    ``etc/passwd`` inside the repository; followed as the kernel follows it,
    every ``b`` is ``.``, and ``a`` is the host's ``/etc/passwd``.
    """
    sha = git_server.commit_tree(
        tenant_repo.repo,
        [
            ("120000", "b", b"."),
            ("120000", "a", b"b/" * 12 + b"../" * 12 + b"etc/passwd"),
            ("100644", "deploy/cm.yaml", CM.encode()),
        ],
    )
    status = _source_failed(admin, tenant_repo.name, "UnsafeSymlink")
    assert "a leads outside the repository" in status["message"]
    assert sha not in (tenant_repo.status().get("lastAttemptedRevision") or "")


def test_a_few_kilobytes_that_expand_to_4_gib_fail_the_source_with_memory_flat(
    admin: kube.Kube, git_server: GitServer, tenant_repo: TenantRepo, operator: OperatorProcess
) -> None:
    """One 1 MiB blob referenced 4,096 times: a tiny pack, a 4 GiB tree."""
    blob = b"\0" * (1 << 20)
    git_server.commit_tree(
        tenant_repo.repo,
        [("100644", f"deploy/d{i // 64}/f{i}.bin", blob) for i in range(4096)]
        + [("100644", "deploy/cm.yaml", CM.encode())],
    )
    status = _source_failed(admin, tenant_repo.name, "ArtifactTooLarge")
    assert "once extracted" in status["message"]
    assert tenant_repo.get("ConfigMap", "plain") is None
    assert operator.process is not None
    assert operator.process.poll() is None


# -- the sandbox alone holds, with the check switched off ----------------------


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the kustomization check off: only the sandbox stands in the way."""
    monkeypatch.setattr(kustomization, "check_tree", lambda root, start: None)


def _build(tmp_path: pathlib.Path, text: str) -> str:
    """Build ``text`` as a kustomization in the sandbox; what it produced or why it failed."""
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "kustomization.yaml").write_text(text)
    try:
        documents = build.build(tmp_path, "app", kustomize=_kustomize(), sandbox=sandbox.Sandbox())
    except YamlError as error:
        return "refused: " + error.message
    return json.dumps([d.body for d in documents])


@pytest.mark.usefixtures("unchecked")
def test_alone_the_sandbox_hides_host_files(
    tmp_path: pathlib.Path, control_plane: pathlib.Path
) -> None:
    for path in ("/etc/passwd", "/etc/hostname", str(control_plane)):
        assert os.path.exists(path)
        out = _build(tmp_path, f"configMapGenerator:\n- name: loot\n  files: [{path}]\n")
        assert out.startswith("refused: "), out
        assert "no such file or directory" in out, out


@pytest.mark.usefixtures("unchecked")
def test_alone_the_sandbox_shows_no_process_and_no_mount(tmp_path: pathlib.Path) -> None:
    """No ``/proc``: not the operator's, and not the sandbox's own (its mountinfo names hosts)."""
    for path in ("/proc/1/environ", "/proc/self/mountinfo", "/proc/cmdline"):
        out = _build(tmp_path, f"configMapGenerator:\n- name: loot\n  files: [{path}]\n")
        assert out.startswith("refused: "), out
        assert "no such file or directory" in out, out


@pytest.mark.usefixtures("unchecked")
def test_alone_the_sandbox_has_no_network(tmp_path: pathlib.Path, admin: kube.Kube) -> None:
    server = admin.api_client.configuration.host.replace("https://", "http://")
    out = _build(tmp_path, f"resources:\n- {server}/version\n")
    assert out.startswith("refused: ")
    assert "connection refused" in out or "network is unreachable" in out, out


def test_output_memory_and_time_are_bounded() -> None:
    box = sandbox.Sandbox(limits=sandbox.Limits(output_bytes=1 << 20, wall_seconds=2))
    cases = [
        (["/usr/bin/yes"], "OutputTooLarge"),
        (["/usr/bin/sleep", "30"], "Timeout"),
        (
            ["/usr/bin/python3", "-c", "b = bytearray(3 * 1024**3)"],
            "Failed",
        ),
    ]
    for argv, reason in cases:
        with pytest.raises(sandbox.SandboxError) as raised:
            box.run(argv, binds=[], cwd="/", system=True, what=argv[0])
        assert raised.value.reason == reason, raised.value.message


def test_nothing_in_the_sandbox_can_make_a_user_namespace() -> None:
    # The capabilities a user namespace grants (net_admin, sys_admin there) open the
    # kernel's widest attack surface (nf_tables, overlayfs); no build needs one.
    box = sandbox.Sandbox()
    with pytest.raises(sandbox.SandboxError) as raised:
        box.run(
            ["/usr/bin/unshare", "--user", "/usr/bin/true"],
            binds=[],
            cwd="/",
            system=True,
            what="unshare",
        )
    assert raised.value.reason == "Failed"
    box.run(["/usr/bin/true"], binds=[], cwd="/", system=True, what="true")  # the rest runs


def test_a_failed_build_shows_a_short_sanitised_excerpt(tmp_path: pathlib.Path) -> None:
    noisy = "x\x1b[31m" * 5000
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cm.yaml").write_text(f"apiVersion: v1\nkind: [{noisy}\n")
    out = _build(tmp_path, "resources: [cm.yaml]\n")
    assert out.startswith("refused: kustomize build app failed")
    assert "\x1b" not in out
    assert len(out) < 500


# -- where isolation is unavailable, nothing tenant-controlled is processed -----


@pytest.fixture
def operator_without_bwrap(operator_process: OperatorProcess) -> Iterator[OperatorProcess]:
    operator_process.start({"LANDLORD_SANDBOX__BWRAP": "/nonexistent/bwrap"})
    yield operator_process
    operator_process.start()


def test_without_isolation_builds_are_refused_with_a_clear_reason(
    admin: kube.Kube, tenant_repo: TenantRepo, operator_without_bwrap: OperatorProcess
) -> None:
    tenant_repo.push({"deploy/cm.yaml": CM})
    status = _source_failed(admin, tenant_repo.name, "SandboxUnavailable")
    assert "bubblewrap" in status["message"]
    assert "LANDLORD_SANDBOX__MODE=unconfined" in status["message"]
    assert "build sandbox" in operator_without_bwrap.log()
    assert tenant_repo.get("ConfigMap", "plain") is None


# -- helpers --------------------------------------------------------------------


def _source_failed(admin: kube.Kube, name: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "GitRepository", name, name) or {}
        ready = conditions.get((body.get("status") or {}).get("conditions") or [], "Ready")
        return ready if ready and ready.get("reason") == reason else None

    return eventually(check, timeout=45, what=f"GitRepository {name} {reason}")
