"""``landlord policy diff`` against real Git repositories and the real apiserver.

Policies are read from revisions of a real platform repository; ``--live``
reads ConfigMaps written here the way the operator publishes its record (two
shards, one of them in parts); static mode fetches tenants' repositories from
a real Git server and builds them as the operator would.
"""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import subprocess
from typing import Any

import yaml

from landlord import kube
from landlord.api import labels
from landlord.cli import output
from landlord.demo import GitServer
from landlord.policy import requests as recorded
from landlord.policy.engine import DEFAULTS
from landlord.policy.requests import Request, Requester, Seen
from tests.helpers import landlord

MODEL = (DEFAULTS / "model.conf").read_text()
BASE = """\
g, tenant:*, role:tenant
p, role:tenant, source, *://**, allow
p, role:tenant, apply, */*, allow
p, tenant:team-a, depend, team-b/db, allow
p, tenant:team-a, depend, team-b/cache, allow
"""
WITHOUT_EDGES = "\n".join(BASE.splitlines()[:3]) + "\n"
NO_CLUSTER = pathlib.Path("/nonexistent/kubeconfig")  # static mode never connects
# The loopback Git server is allowed, as the tests' operator allows it.
STATIC_ENV = {
    "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
    "LANDLORD_SOURCES__ALLOWED_NETWORKS": "127.0.0.1/32",
}


def _git(repo: pathlib.Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _platform_repo(root: pathlib.Path, *commits: dict[str, str | None]) -> pathlib.Path:
    """A platform repository with one commit per mapping (path → content; None deletes)."""
    repo = root / "platform"
    repo.mkdir()
    _git(repo, "init", "--quiet", "--initial-branch=main")
    for number, files in enumerate(commits):
        for name, content in files.items():
            path = repo / name
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        _git(repo, "add", "--all")
        _git(repo, "commit", "--quiet", "--allow-empty", "-m", f"commit {number}")
    return repo


def _ks(namespace: str, name: str) -> Requester:
    return Requester("Kustomization", namespace, name)


EDGES = [
    Seen(Request(("tenant:team-a",), "depend", "team-b/db", "depend", _ks("team-a", "web")), 10.0),
    Seen(
        Request(("tenant:team-a",), "depend", "team-b/cache", "depend", _ks("team-a", "api")), 10.0
    ),
]


def _record_file(root: pathlib.Path, seen: list[Seen] = EDGES) -> pathlib.Path:
    path = root / "record.json.gz"
    path.write_bytes(recorded.dump(seen))
    return path


def _diff(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return landlord(NO_CLUSTER, "policy", "diff", *args, env=env)


# -- policies from revisions -----------------------------------------------------------


def test_revisions_of_the_platform_repository(tmp_path: pathlib.Path) -> None:
    repo = _platform_repo(
        tmp_path,
        {"policies/model.conf": MODEL, "policies/policy.csv": BASE},
        {
            "policies/policy.csv": BASE.replace(
                "p, tenant:team-a, depend, team-b/cache, allow\n", ""
            )
        },
    )
    record = _record_file(tmp_path)
    run = _diff(
        "--repo", str(repo), "--from", "HEAD~1", "--to", "HEAD", "--requests", str(record),
        "-o", "json",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    report = json.loads(run.stdout)
    head = _git(repo, "rev-parse", "HEAD").strip()
    assert report["to"]["shown"] == f"HEAD:policies ({head[:12]})"
    assert (report["from"]["lines"], report["to"]["lines"]) == (5, 4)
    assert [c["message"] for c in report["newlyDenied"]] == [
        "Kustomization team-a/api would stop: depend team-b/cache no line allows it (default deny)"
    ]
    assert report["newlyDenied"][0]["before"]["rule"] == "policy.csv:5"

    # --to defaults to the working tree: an uncommitted edit is what is compared.
    (repo / "policies" / "policy.csv").write_text(WITHOUT_EDGES)
    run = _diff("--repo", str(repo), "--from", "HEAD", "--requests", str(record), "-o", "json")
    assert run.returncode == 2, run.stderr
    report = json.loads(run.stdout)
    assert report["to"]["shown"] == f"{repo}/policies/"
    assert [c["requester"]["name"] for c in report["newlyDenied"]] == ["web"]

    # The same policy at both revisions (the file only moved lines): nothing, exit 0.
    run = _diff("--repo", str(repo), "--from", "HEAD", "--to", "HEAD", "--requests", str(record))
    assert run.returncode == 0, run.stderr
    assert "No request is decided differently." in run.stdout


def test_a_revision_without_the_folder_is_the_shipped_policy_and_symlinks_are_followed(
    tmp_path: pathlib.Path,
) -> None:
    repo = _platform_repo(tmp_path, {"README.md": "no policy yet\n"})
    (repo / "real").mkdir()
    (repo / "real" / "model.conf").write_text(MODEL)
    (repo / "real" / "policy.csv").write_text(BASE)
    (repo / "policies").symlink_to("real")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", "policies, through a link")
    record = _record_file(tmp_path)
    run = _diff(
        "--repo", str(repo), "--from", "HEAD~1", "--to", "HEAD", "--requests", str(record),
        "-o", "json",
    )  # fmt: skip
    assert run.returncode == 1, run.stderr  # the shipped policy allows no cross-tenant edge
    report = json.loads(run.stdout)
    assert "HEAD~1 has no policies/ folder" in report["from"]["note"]
    assert report["to"]["lines"] == 5
    assert len(report["newlyAllowed"]) == 2


def test_a_broken_policy_in_a_revision_names_revision_file_and_line(tmp_path: pathlib.Path) -> None:
    repo = _platform_repo(
        tmp_path,
        {"policies/model.conf": MODEL, "policies/policy.csv": BASE + "p, tenant:x, depend\n"},
    )
    record = _record_file(tmp_path)
    run = _diff("--repo", str(repo), "--from", "HEAD", "--requests", str(record))
    assert run.returncode == output.CANNOT_TELL
    assert "HEAD:policies/policy.csv:6:" in run.stderr
    assert run.stdout == ""

    _git(repo, "rm", "--quiet", "policies/model.conf")
    _git(repo, "commit", "--quiet", "-m", "no model")
    run = _diff("--repo", str(repo), "--from", "HEAD", "--requests", str(record))
    assert run.returncode == output.CANNOT_TELL
    assert "HEAD:policies/model.conf: not in the revision" in run.stderr

    run = _diff("--repo", str(repo), "--from", "--upload-pack=touch x", "--requests", str(record))
    assert run.returncode == output.CANNOT_TELL
    assert "neither a folder nor a revision" in run.stderr


# -- the operator's record, live ----------------------------------------------------------


def _publish(
    admin: kube.Kube,
    namespace: str,
    name: str,
    seen: list[Seen],
    *,
    recorded_at: datetime.datetime,
    label: bool = True,
) -> None:
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {labels.POLICY_REQUESTS: "true"} if label else {},
                "annotations": {
                    labels.RECORDED_AT: recorded_at.isoformat().replace("+00:00", "Z"),
                    labels.POLICY_DIGEST: "",
                },
            },
            "binaryData": {
                labels.POLICY_REQUESTS_KEY: base64.b64encode(recorded.dump(seen)).decode()
            },
        },
        field_manager="test",
    )


def _seen(tenant: str, target: str, last_seen: float) -> Seen:
    request = Request((f"tenant:{tenant}",), "depend", target, "depend", _ks(tenant, "web"))
    return Seen(request, last_seen, "allow")


def test_live_reads_every_shard_and_part_with_one_list(
    control_plane: pathlib.Path, admin: kube.Kube, namespace: str, tmp_path: pathlib.Path
) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    shared = _seen("team-a", "team-b/db", 100.0)
    _publish(admin, namespace, "landlord-policy-requests", [shared], recorded_at=now)
    # a named shard, split in two parts; it saw the shared request later
    _publish(
        admin,
        namespace,
        "landlord-policy-requests-east-1",
        [_seen("team-c", "team-b/db", 50.0), Seen(shared.request, 200.0, "allow")],
        recorded_at=now - datetime.timedelta(minutes=5),
    )
    _publish(
        admin,
        namespace,
        "landlord-policy-requests-east-2",
        [_seen("team-d", "team-b/cache", 60.0)],
        recorded_at=now - datetime.timedelta(minutes=5),
    )
    # not labelled: not the operator's record
    _publish(
        admin, namespace, "other", [_seen("team-x", "team-b/x", 1.0)], recorded_at=now, label=False
    )
    before = tmp_path / "before"
    before.mkdir()
    (before / "model.conf").write_text(MODEL)
    (before / "policy.csv").write_text("g, tenant:*, role:t\np, role:t, depend, team-b/*, allow\n")
    after = tmp_path / "after"
    after.mkdir()
    (after / "model.conf").write_text(MODEL)
    (after / "policy.csv").write_text("p, tenant:team-c, depend, team-b/*, allow\n")
    args = ("policy", "diff", "--from", str(before), "--to", str(after), "--live", "-n", namespace)
    run = landlord(control_plane, *args, "-o", "json")
    assert run.returncode == 2, run.stderr
    report = json.loads(run.stdout)
    assert report["requests"] == 3  # the shared request once
    assert report["source"]["mode"] == "live"
    assert report["source"]["recordedAt"] == now.isoformat().replace("+00:00", "Z")
    assert report["source"]["origins"] == [
        f"the operator's record (3 ConfigMaps in {namespace}: landlord-policy-requests, "
        "landlord-policy-requests-east-1, landlord-policy-requests-east-2)"
    ]
    denied = {
        (c["requester"]["namespace"], c["object"], c["lastSeen"]) for c in report["newlyDenied"]
    }
    assert denied == {("team-a", "team-b/db", 200.0), ("team-d", "team-b/cache", 60.0)}
    assert report["unchanged"] == {"allowed": 1, "denied": 0}

    text = landlord(control_plane, *args)
    assert text.returncode == 2
    assert "newest record " in text.stdout
    assert "Kustomization team-a/web would stop: depend team-b/db" in text.stdout


def test_live_without_a_cluster_cannot_tell(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "model.conf").write_text(MODEL)
    (folder / "policy.csv").write_text(BASE)
    run = _diff("--from", str(folder), "--to", str(folder), "--live")
    assert run.returncode == output.CANNOT_TELL
    assert run.stderr.startswith("error: --live cannot connect to the cluster")
    assert "Traceback" not in run.stderr


def test_live_without_a_record_or_without_access_cannot_tell(
    control_plane: pathlib.Path, admin: kube.Kube, namespace: str, tmp_path: pathlib.Path
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "model.conf").write_text(MODEL)
    (folder / "policy.csv").write_text(BASE)
    args = ("policy", "diff", "--from", str(folder), "--to", str(folder), "--live", "-n", namespace)
    run = landlord(control_plane, *args)
    assert run.returncode == output.CANNOT_TELL
    assert "the operator has not recorded any requests yet" in run.stderr
    assert "LANDLORD_POLICY__RECORD_REQUESTS" in run.stderr

    _publish(
        admin,
        namespace,
        "landlord-policy-requests",
        EDGES,
        recorded_at=datetime.datetime.now(datetime.UTC),
    )
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "reader", "namespace": namespace},
        },
        field_manager="test",
    )
    server, ca, _verify = admin.endpoint()
    cluster: dict[str, Any] = {"server": server}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [
                    {
                        "name": "u",
                        "user": {"token": admin.service_account_token(namespace, "reader")},
                    }
                ],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    run = landlord(config, *args)
    assert run.returncode == output.CANNOT_TELL
    assert f"you may not list ConfigMaps in namespace {namespace}" in run.stderr
    assert f"`list` on configmaps in {namespace}" in run.stderr


# -- static mode: tenants/ and the tenants' repositories ------------------------------------


def _tenant(name: str, url: str, *, depends_on: list[dict[str, str]] | None = None) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {
                "source": {"url": url, "ref": {"branch": "main"}},
                "sync": {"path": "./deploy", "dependsOn": depends_on or []},
            },
        }
    )


def _objects(*objects: dict[str, Any]) -> str:
    return yaml.safe_dump_all(objects)


def test_static_mode_fetches_builds_and_replays_the_tenants_repositories(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    repo_name = "policy-diff-team-a"
    git_server.create(repo_name, public=True)
    git_server.commit(
        repo_name,
        {
            "deploy/kustomization.yaml": "resources: [app.yaml, inner.yaml]\n",
            "deploy/app.yaml": _objects(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
            ),
            "deploy/inner.yaml": _objects(
                {
                    "apiVersion": "landlord.dev/v1alpha1",
                    "kind": "Kustomization",
                    "metadata": {"name": "inner"},
                    "spec": {
                        "sourceRef": {"kind": "GitRepository", "name": "team-a"},
                        "dependsOn": [{"name": "cache", "namespace": "team-b"}],
                    },
                }
            ),
        },
    )
    repo = _platform_repo(
        tmp_path,
        {
            "tenants/team-a.yaml": _tenant(
                "team-a",
                git_server.url(repo_name),
                depends_on=[{"name": "db", "namespace": "team-b"}],
            ),
            # nothing listens there: a warning naming the tenant, not a crash
            "tenants/team-b.yaml": _tenant("team-b", "http://127.0.0.1:9/nothing.git"),
            "policies/model.conf": MODEL,
            "policies/policy.csv": BASE,
        },
    )
    (repo / "policies" / "policy.csv").write_text(
        WITHOUT_EDGES + "p, tenant:team-a, apply, apps/Deployment, deny\n"
    )
    run = _diff("--repo", str(repo), "--from", "HEAD", "-o", "json", env=STATIC_ENV)
    assert run.returncode == 2, run.stderr
    report = json.loads(run.stdout)
    assert {(c["requester"]["name"], c["action"], c["object"]) for c in report["newlyDenied"]} == {
        ("team-a", "depend", "team-b/db"),  # the Tenant's own sync
        ("team-a", "apply", "apps/Deployment"),  # a kind of its revision, built
        ("inner", "depend", "team-b/cache"),  # a Kustomization in its revision
    }
    assert report["source"]["origins"] == [
        f"2 tenants in {repo}/tenants and 1 of 2 tenant repositories"
    ]
    (warning,) = [w for w in report["warnings"] if "team-b" in w]
    assert warning.startswith("tenant team-b: its repository could not be fetched or built here")
    assert "were not replayed" in warning
    assert {c["object"] for c in report["newlyAllowed"]} == set()

    # --no-fetch: only the Tenant files' own requests, and it says so.
    run = _diff("--repo", str(repo), "--from", "HEAD", "--no-fetch", "-o", "json", env=STATIC_ENV)
    report = json.loads(run.stdout)
    assert [c["object"] for c in report["newlyDenied"]] == ["team-b/db"]
    assert any("not replayed" in w and "--no-fetch" in w for w in report["warnings"])
