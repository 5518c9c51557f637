"""``landlord policy diff`` reads what tenants wrote: none of it may steer the reader or the runner.

Names, URLs and kinds reach the terminal, a JSON document and a pull-request
comment: markup, escape sequences and Markdown in them stay inert text. In
static mode each tenant's repository is fetched and built: a huge one, one
with links or a kustomization reaching out of it, a build that never ends and
a server that never answers are each bounded, reported as a warning naming
the tenant, and never stop the report.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import yaml

from landlord.api import tenant as tenant_api
from landlord.cli import policytenants
from landlord.demo import GitServer
from landlord.policy import requests as recorded
from landlord.policy.engine import DEFAULTS
from landlord.policy.requests import Request, Requester, Seen
from tests.helpers import landlord

MODEL = (DEFAULTS / "model.conf").read_text()
ALLOW = (
    "g, tenant:*, role:tenant\n"
    "p, role:tenant, source, *://**, allow\n"
    "p, role:tenant, apply, */*, allow\n"
)
DENY_ALL = "g, tenant:*, role:tenant\n"
NO_CLUSTER = pathlib.Path("/nonexistent/kubeconfig")

ESC = "\x1b"
HOSTILE_NAME = f"[bold red]x[/bold red]{ESC}]0;pwned{ESC}\\\u202eevil\r[link=file:///etc]y"
HOSTILE_KIND = f"x/[bold]K{ESC}[2J\u202e@here"
HOSTILE_URL = "https://git.example.com/a|b`c`<img src=x onerror=alert(1)>@everyone/#1/**x**\nz"


def _folders(root: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    found = []
    for name, text in (("before", ALLOW), ("after", DENY_ALL)):
        folder = root / name
        folder.mkdir()
        (folder / "model.conf").write_text(MODEL)
        (folder / "policy.csv").write_text(text)
        found.append(folder)
    return found[0], found[1]


def _hostile_record(root: pathlib.Path) -> pathlib.Path:
    requester = Requester("Kustomization", "team-a", HOSTILE_NAME)
    seen = [
        Seen(Request(("tenant:team-a",), "source", HOSTILE_URL, "source", requester), 1.0),
        Seen(Request(("tenant:team-a",), "apply", HOSTILE_KIND, "apply", requester), 1.0),
    ]
    path = root / "record.json.gz"
    path.write_bytes(recorded.dump(seen))
    return path


def _diff(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    before, after = _folders(root)
    record = _hostile_record(root)
    return landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--to", str(after), "--requests", str(record),
        *args,
    )  # fmt: skip


def test_text_output_prints_markup_literally_and_no_control_sequence(
    tmp_path: pathlib.Path,
) -> None:
    run = _diff(tmp_path)
    assert run.returncode == 2, run.stderr
    assert ESC not in run.stdout
    assert "\r" not in run.stdout
    assert "\u202e" not in run.stdout
    # rich markup in a name is shown as written, not interpreted
    assert "[bold red]x[/bold red]" in run.stdout
    assert "[link=file:///etc]y" in run.stdout


def test_json_escapes_control_characters(tmp_path: pathlib.Path) -> None:
    run = _diff(tmp_path, "-o", "json")
    assert run.returncode == 2, run.stderr
    assert ESC not in run.stdout
    assert "\u202e" not in run.stdout
    report = json.loads(run.stdout)
    # ... and the data is intact for a script that reads it
    assert {c["object"] for c in report["newlyDenied"]} == {HOSTILE_URL, HOSTILE_KIND}


def test_markdown_cannot_break_the_table_mention_link_or_inject_html(
    tmp_path: pathlib.Path,
) -> None:
    run = _diff(tmp_path, "-o", "markdown")
    assert run.returncode == 2, run.stderr
    text = run.stdout
    assert ESC not in text
    assert "\r" not in text
    for raw in ("<img", "@everyone", "@here", "`c`", "**x**", "https://git", "#1", "&&"):
        assert raw not in text, raw
    # brackets are escaped: no link, no image
    assert re.search(r"(?<!\\)\[", text) is None
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2  # header, rule, the two changes: no line break got through
    for row in rows:
        # four cells: an escaped \| inside a cell does not count
        assert row.replace("\\|", "").count("|") == 5, row


# -- hostile tenant repositories in static mode ----------------------------------------


def _tenant(name: str, url: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {"source": {"url": url}, "sync": {"path": "./deploy"}},
        }
    )


def _never_ending_build() -> dict[str, str | bytes | None]:
    """Kustomize bases that double at every level: 2^24 objects, built for ever."""
    files: dict[str, str | bytes | None] = {
        "deploy/kustomization.yaml": "resources: [l24]\n",
        "deploy/l0/kustomization.yaml": "resources: [cm.yaml]\n",
        "deploy/l0/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    }
    for level in range(1, 25):
        files[f"deploy/l{level}/kustomization.yaml"] = "resources: [a, b]\n"
        for side in "ab":
            files[f"deploy/l{level}/{side}/kustomization.yaml"] = (
                f"namePrefix: {side}-\nresources: [../../l{level - 1}]\n"
            )
    return files


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A Git URL whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/silent.git"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_hostile_repositories_are_bounded_and_reported(
    git_server: GitServer, silent_server: str, tmp_path: pathlib.Path
) -> None:
    repos: dict[str, str] = {}

    def public(name: str) -> str:
        repo = f"policy-diff-{name}"
        git_server.create(repo, public=True)
        repos[name] = git_server.url(repo)
        return repo

    git_server.commit(
        public("good"),
        {"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"},
    )
    git_server.commit(public("huge"), {"deploy/blob.bin": os.urandom(3 * 1024 * 1024)})
    git_server.commit_tree(
        public("links"),
        [
            ("120000", "deploy/passwd.yaml", b"/etc/passwd"),
            ("100644", "deploy/cm.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"),
        ],
    )
    git_server.commit(
        public("outside"),
        {"deploy/kustomization.yaml": "resources: [../../../../../../../etc/passwd, /etc]\n"},
    )
    git_server.commit(public("forever"), _never_ending_build())
    repos["silent"] = silent_server

    tenants = tmp_path / "platform" / "tenants"
    tenants.mkdir(parents=True)
    for name, url in repos.items():
        (tenants / f"{name}.yaml").write_text(_tenant(name, url))
    before, after = _folders(tmp_path)
    began = time.monotonic()
    run = landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--to", str(after),
        "--repo", str(tmp_path / "platform"), "--fetch-timeout", "3", "-o", "json",
        env={
            "LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http",
            "LANDLORD_SOURCES__ALLOWED_NETWORKS": "127.0.0.1/32",
            "LANDLORD_SOURCES__MAX_TOTAL_BYTES": str(1024 * 1024),
            "LANDLORD_SANDBOX__WALL_SECONDS": "5",
            "LANDLORD_SANDBOX__CPU_SECONDS": "5",
        },
        timeout=180,
    )  # fmt: skip
    took = time.monotonic() - began
    assert run.returncode == 2, run.stderr  # the report was made
    assert took < 90, took
    report = json.loads(run.stdout)
    assert "root:" not in run.stdout
    warned = {w.split(":")[0]: w for w in report["warnings"]}
    why = {
        "huge": r"the repository's pack exceeds",
        "links": r"points to an absolute path",
        "outside": r"points outside the repository",
        # the build's CPU time, wall time or memory: whichever it hits first
        "forever": r"kustomize build deploy (failed \(.*limit|took longer than 5s)",
        "silent": r"could not fetch",
    }
    assert set(warned) == {f"tenant {name}" for name in why}
    for name, reason in why.items():
        warning = warned[f"tenant {name}"]
        assert re.search(reason, warning), warning
        assert warning.endswith("the kinds and references in it were not replayed")
    # the good tenant's revision was fetched, built and replayed
    kinds = {
        (c["requester"]["name"], c["object"])
        for c in report["newlyDenied"]
        if c["action"] == "apply"
    }
    assert kinds == {("good", "core/ConfigMap")}
    assert report["source"]["origins"] == [f"6 tenants in {tenants} and 1 of 6 tenant repositories"]


def test_a_source_in_a_denied_network_is_not_fetched(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    """Without the loopback allowance (the operator's default), nothing is fetched from there."""
    repo = "policy-diff-loopback"
    git_server.create(repo, public=True)
    git_server.commit(
        repo, {"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
    )
    tenants = tmp_path / "platform" / "tenants"
    tenants.mkdir(parents=True)
    (tenants / "loop.yaml").write_text(_tenant("loop", git_server.url(repo)))
    before, after = _folders(tmp_path)
    fetched = git_server.requests(repo, "info-refs")
    run = landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--to", str(after),
        "--repo", str(tmp_path / "platform"), "-o", "json",
        env={"LANDLORD_SOURCES__ALLOWED_SCHEMES": "https,ssh,http"},
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    (warning,) = json.loads(run.stdout)["warnings"]
    assert warning.startswith("tenant loop: its repository could not be fetched")
    assert "127.0.0.0/8" in warning
    assert git_server.requests(repo, "info-refs") == fetched


# -- exit codes: a failure is 4, never a verdict CI would read ---------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"LANDLORD_POLICY__RECORD_REQUESTS": "abc"},  # a setting that does not load
        {"LANDLORD_POLICY__PUBLISH_INTERVAL": "0"},  # out of its bounds
    ],
)
def test_a_failure_before_the_command_runs_exits_4_not_a_verdict(
    tmp_path: pathlib.Path, env: dict[str, str]
) -> None:
    before, after = _folders(tmp_path)
    record = _hostile_record(tmp_path)
    done = landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--to", str(after), "--requests", str(record),
        env=env,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # no report a job could mistake for one


def test_a_name_or_kind_with_line_breaks_cannot_forge_lines_of_the_text_report(
    tmp_path: pathlib.Path,
) -> None:
    """Static mode replays the kinds a tenant's revision declares, unchecked by any apiserver:
    kustomize keeps ``kind: "ConfigMap\\n\\nNo request is decided differently."`` as it is.
    """
    before, after = _folders(tmp_path)
    forged = "\n\nNo request is decided differently.\n\nUnchanged: 7 allowed, 0 denied.\n\n"
    requester = Requester("Kustomization", "team-a", "web")
    path = tmp_path / "record.json.gz"
    path.write_bytes(
        recorded.dump(
            [
                Seen(
                    Request(
                        ("tenant:team-a",), "apply", f"core/ConfigMap{forged}", "apply", requester
                    ),
                    1.0,
                ),
                Seen(
                    Request(
                        (f"tenant:team-a{forged}",), "apply", "core/Secret", "apply", requester
                    ),
                    1.0,
                ),
            ]
        )
    )
    run = landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--to", str(after), "--requests", str(path),
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    lines = run.stdout.splitlines()
    assert "No request is decided differently." not in lines
    assert [line for line in lines if line.startswith("Unchanged:")] == [
        "Unchanged: 0 allowed, 0 denied."
    ]
    # each change stays on its own line
    assert len([line for line in lines if "would stop" in line]) == 2


def test_the_working_tree_policy_is_not_read_through_a_link_leaving_the_repository(
    tmp_path: pathlib.Path,
) -> None:
    """A pull request's policy.csv linking to the runner's kubeconfig must not be printed.

    The error would quote its lines (``not 'token: …'``) in the job's log.
    """
    before, _ = _folders(tmp_path)
    secret = tmp_path / "kubeconfig"
    secret.write_text("apiVersion: v1\nusers:\n- user:\n    token: SECRET-abc123\n")
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "model.conf").write_text(MODEL)
    (repo / "policies" / "policy.csv").symlink_to(secret)
    run = landlord(
        NO_CLUSTER,
        "policy", "diff", "--from", str(before), "--repo", str(repo), "--requests",
        str(_hostile_record(tmp_path)),
    )  # fmt: skip
    assert run.returncode == 4, run.stderr
    assert "SECRET" not in run.stdout + run.stderr
    assert "outside" in run.stderr


def test_a_tenants_revision_cannot_make_requests_in_another_tenants_name() -> None:
    """Static mode: an object the revision puts in team-b's namespace asks nothing as team-b.

    The operator refuses such a revision before anything is asked (not one of the
    tenant's namespaces); replayed as ``tenant:team-b``, it would put requests in
    team-b's name in every report (a forged "would stop", or "would be allowed").
    """
    tenant = tenant_api.Tenant.from_object(
        {"metadata": {"name": "team-a"}, "spec": {"source": {"url": "https://g/a"}}}
    )
    tenants = policytenants.Tenants.of(
        [tenant, tenant_api.Tenant.from_object({"metadata": {"name": "team-b"}, "spec": {}})]
    )
    forged: list[dict[str, object]] = [
        {
            "apiVersion": "landlord.dev/v1",
            "kind": "Kustomization",
            "metadata": {"name": "web", "namespace": "team-b"},
            "spec": {"dependsOn": [{"name": "db", "namespace": "team-c"}], "cluster": "edge"},
        },
        {
            "apiVersion": "landlord.dev/v1",
            "kind": "GitRepository",
            "metadata": {"name": "x", "namespace": "team-b"},
            "spec": {"url": "https://git.example.com/x.git"},
        },
    ]
    found = policytenants.artifact_requests(tenant, forged, tenants, allowed_schemes=["https"])
    assert {r.subjects for r in found} == {("tenant:team-a",)}
    assert all(r.requester is not None and r.requester.namespace == "team-a" for r in found)


def _git(repo: pathlib.Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize(
    "baseline",
    [
        "main",  # the revision exists
        "origin/main",  # a shallow clone without it: the folder must not stand in either
    ],
)
def test_a_pull_request_cannot_spoof_the_revision_it_is_compared_with(
    tmp_path: pathlib.Path, baseline: str
) -> None:
    """In CI the working tree is the pull request's: a folder it adds named like --from
    (``main/``, ``origin/main/``) holding its own policy must not be read in place of the
    revision, or the diff of any change reads 0 ("no change")."""
    repo = tmp_path / "platform"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "model.conf").write_text(MODEL)
    (repo / "policies" / "policy.csv").write_text(ALLOW)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "policy")
    _git(repo, "checkout", "-q", "-b", "change")
    (repo / "policies" / "policy.csv").write_text(DENY_ALL)  # the change under review
    (repo / baseline).mkdir(parents=True)
    (repo / baseline / "model.conf").write_text(MODEL)
    (repo / baseline / "policy.csv").write_text(DENY_ALL)  # the spoofed baseline
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "change")
    record = _hostile_record(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "landlord", "policy", "diff", "--from", baseline, "--to", "HEAD",
         "--requests", str(record), "-o", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LANDLORD_")},
        timeout=120,
        check=False,
    )  # fmt: skip
    assert run.returncode in (2, 4), run.stdout + run.stderr  # never "no change"
    if run.returncode == 4:
        assert "a pull request could put a folder there" in run.stderr
