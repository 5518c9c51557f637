"""`landlord policy diff --live` predicts what a policy change does, and then it happens.

Real operator, real control plane, real Git server: tenants with cross-tenant
edges run under one policy; the diff of a second policy is read from the
operator's own record; the second policy is then hot-reloaded, and what the
diff said would stop stops, what it said would open opens, and nothing else
of these tenants changes.
"""

from __future__ import annotations

import base64
import functools
import json
import pathlib
import shutil
import subprocess
from typing import Any

from landlord import api, kube
from landlord.api import labels
from landlord.demo import GitServer
from landlord.policy import requests as recorded
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.operator import BASELINE_POLICY, OperatorProcess, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually, landlord
from tests.policy.test_gate import _ready, _reason, _tenant_with_repo
from tests.sync.test_apply_and_prune import config_map

EXIT_DENIED = 2


def _recorded(admin: kube.Kube) -> list[recorded.Seen]:
    found: list[recorded.Seen] = []
    for item in admin.list_objects(
        "v1", "ConfigMap", namespace=PLATFORM_NAMESPACE, label_selector=labels.POLICY_REQUESTS
    ):
        data = (item.get("binaryData") or {}).get(labels.POLICY_REQUESTS_KEY)
        if data:
            found += recorded.load(base64.b64decode(data))
    return found


def _records(admin: kube.Kube, namespace: str, action: str, obj: str) -> bool:
    return any(
        s.request.requester is not None
        and s.request.requester.namespace == namespace
        and s.request.action == action
        and s.request.object == obj
        for s in _recorded(admin)
    )


def _folder(root: pathlib.Path, name: str, policy: str, operator: OperatorProcess) -> pathlib.Path:
    folder = root / name
    folder.mkdir()
    shutil.copy(operator.policy_dir / "model.conf", folder / "model.conf")
    (folder / "policy.csv").write_text(policy)
    return folder


def _diff(
    kubeconfig: pathlib.Path, old: pathlib.Path, new: pathlib.Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``landlord policy diff --live`` from ``old`` to ``new``, as CI runs it."""
    return landlord(
        kubeconfig,
        "policy",
        "diff",
        "--from",
        str(old),
        "--to",
        str(new),
        "--live",
        "--namespace",
        PLATFORM_NAMESPACE,
        *args,
    )


def _handled(admin: kube.Kube, name: str, stamp: str) -> bool:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return bool((body.get("status") or {}).get("lastHandledReconcileAt") == stamp)


def _ours(changes: list[dict[str, Any]], namespaces: set[str]) -> set[tuple[str, str, str]]:
    return {
        (c["requester"]["kind"], c["requester"]["namespace"], c["requester"]["name"])
        for c in changes
        if c["requester"] and c["requester"]["namespace"] in namespaces
    }


def test_what_the_diff_predicts_is_what_happens_when_the_policy_lands(
    admin: kube.Kube,
    control_plane: pathlib.Path,
    git_server: GitServer,
    tenants: Tenants,
    policy_files: PolicyFiles,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    shared, stays, stops, opens = (tenants.name(p) for p in ("infra", "stays", "stops", "opens"))
    before = BASELINE_POLICY + (
        f"p, tenant:{stays}, depend, {shared}/*, allow\n"
        f"p, tenant:{stops}, depend, {shared}/{shared}, allow\n"
    )
    policy_files.write(before)
    _tenant_with_repo(tenants, git_server, "", {"deploy/db.yaml": config_map("db")}, name=shared)
    for name in (stays, stops, opens):
        _tenant_with_repo(
            tenants,
            git_server,
            "",
            {"deploy/app.yaml": config_map("app")},
            name=name,
            dependsOn=[{"name": shared, "namespace": shared}],
        )
    for name in (shared, stays, stops):
        _reason(admin, name, name, "ReconciliationSucceeded")
    _reason(admin, opens, opens, "PolicyDenied")
    # The operator's record holds every edge (published on its interval).
    eventually(
        lambda: all(
            _records(admin, name, "depend", f"{shared}/{shared}") for name in (stays, stops, opens)
        ),
        timeout=30,
        what="the three dependsOn edges in the operator's published record",
    )

    after = BASELINE_POLICY + (
        f"p, tenant:{opens}, depend, {shared}/{shared}, allow\n"
        f"p, tenant:{stays}, depend, {shared}/*, allow\n"
    )
    old = _folder(tmp_path, "before", before, operator)
    new = _folder(tmp_path, "after", after, operator)
    run = _diff(control_plane, old, new, "-o", "json")
    assert run.returncode == EXIT_DENIED, run.stderr
    report = json.loads(run.stdout)
    ours = {shared, stays, stops, opens}
    assert _ours(report["newlyDenied"], ours) == {("Kustomization", stops, stops)}
    assert _ours(report["newlyAllowed"], ours) == {("Kustomization", opens, opens)}
    (denied,) = [c for c in report["newlyDenied"] if c["requester"]["namespace"] == stops]
    assert denied["message"] == (
        f"Kustomization {stops}/{stops} would stop: depend {shared}/{shared} "
        "no line allows it (default deny)"
    )
    removed = f"p, tenant:{stops}, depend, {shared}/{shared}, allow"
    assert denied["before"]["rule"] == f"policy.csv:{before.splitlines().index(removed) + 1}"

    # The same diff as text names the object and the rule, as a reviewer reads it.
    text = _diff(control_plane, old, new)
    assert text.returncode == EXIT_DENIED, text.stderr
    assert f"Kustomization {stops}/{stops} would stop" in text.stdout

    # The change lands: exactly what was predicted happens.
    policy_files.write(after)
    _reason(admin, stops, stops, "PolicyDenied")
    _reason(admin, opens, opens, "ReconciliationSucceeded")
    assert admin.get("v1", "ConfigMap", "app", opens) is not None
    for name in (shared, stays):
        # Decided again under the new policy (its version moved), and still syncing.
        stamp = f"whatif-{name}"
        admin.merge_patch(
            api.API_VERSION,
            "Kustomization",
            name,
            {"metadata": {"annotations": {labels.REQUESTED_AT: stamp}}},
            name,
        )
        eventually(
            functools.partial(_handled, admin, name, stamp),
            timeout=30,
            what=f"the requested reconcile of {name}",
        )
        assert _ready(admin, name, name)["reason"] == "ReconciliationSucceeded"

    # Under the policy now in force, the same diff has nothing left to say.
    settled = _diff(control_plane, new, new, "-o", "json")
    assert settled.returncode == 0, settled.stderr
    assert json.loads(settled.stdout)["newlyDenied"] == []
