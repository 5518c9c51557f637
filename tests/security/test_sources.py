"""A tenant's source turned against the platform: the operator's credentials, its
network position, and the policy's URL patterns.

Each case is a GitRepository a hostile tenant could write, reconciled by the
real operator against the real loopback Git server. The operator is restarted
with the settings or the environment a case needs (its default list of denied
networks, credentials of the operator's user where git, curl or ssh would
look for them) and put back by the ``operator`` fixture afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pathlib
import socket
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from landlord import api, kube
from landlord.api import conditions
from landlord.demo import GitServer
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.git import PASSWORD, TOKEN, USER
from tests.fixtures.operator import OperatorProcess
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually

UNREACHABLE = "SourceUnreachable"
# The test operator allows loopback (its Git server lives there); these cases
# need the platform's defaults back.
DEFAULT_NETWORKS = {"LANDLORD_SOURCES__ALLOWED_NETWORKS": ""}


def _source(admin: kube.Kube, namespace: str, name: str, url: str, **spec: Any) -> None:
    admin.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"url": url, "interval": "1m", **spec},
        },
        field_manager="test",
        force=True,
    )


def _ready(admin: kube.Kube, namespace: str, name: str) -> dict[str, Any]:
    """The Ready condition once the source has been reconciled at its generation."""

    def check() -> dict[str, Any] | None:
        body = admin.get(api.API_VERSION, "GitRepository", name, namespace) or {}
        status = body.get("status") or {}
        if status.get("observedGeneration") != body.get("metadata", {}).get("generation"):
            return None
        return conditions.get(status.get("conditions") or [], "Ready")

    return eventually(check, timeout=30, what=f"{namespace}/{name} reconciled")


def _start(operator: OperatorProcess, env: dict[str, str]) -> None:
    operator.start(env)
    eventually(
        lambda: "landlord_" in operator.metrics(), timeout=30, what="the operator to serve metrics"
    )


def _apiserver_port(admin: kube.Kube) -> int:
    port = urllib.parse.urlsplit(admin.configuration.host).port
    assert port is not None
    return port


# -- the operator's credentials ----------------------------------------------


@pytest.fixture
def operator_home(tmp_path: pathlib.Path, git_server: GitServer) -> pathlib.Path:
    """A home folder holding the Git server's credentials everywhere git and curl look."""
    home = tmp_path / "operator-home"
    (home / ".config" / "git").mkdir(parents=True)
    host = urllib.parse.urlsplit(git_server.base_url)
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (home / ".netrc").write_text(f"machine {host.hostname} login {USER} password {PASSWORD}\n")
    (home / ".netrc").chmod(0o600)
    (home / ".git-credentials").write_text(
        f"http://{USER}:{PASSWORD}@{host.hostname}%3a{host.port}\n"
    )
    gitconfig = (
        f"[credential]\n\thelper = store\n[http]\n\textraHeader = Authorization: Basic {basic}\n"
    )
    (home / ".gitconfig").write_text(gitconfig)
    (home / ".config" / "git" / "config").write_text(gitconfig)
    return home


def test_an_anonymous_source_never_uses_the_operators_netrc_or_git_credentials(
    admin: kube.Kube,
    namespace: str,
    git_server: GitServer,
    repo: str,
    operator: OperatorProcess,
    operator_home: pathlib.Path,
) -> None:
    """A tenant names a private repository without a secretRef, hoping the operator's
    own ``~/.netrc``, ``~/.git-credentials`` or ``~/.gitconfig`` will log it in."""
    _start(
        operator,
        {
            "HOME": str(operator_home),
            # The control plane's binaries stay where the session found them.
            "LANDLORD_CLUSTER__CACHE_DIR": str(pathlib.Path.home() / ".cache" / "landlord"),
        },
    )

    _source(admin, namespace, "borrowed", git_server.url(repo))

    ready = _ready(admin, namespace, "borrowed")
    assert ready["reason"] == "AuthenticationFailed", ready
    assert git_server.requests(repo, "ls-refs") == 0
    assert git_server.requests(repo, "fetch") == 0
    assert PASSWORD not in ready["message"]


FAKE_SSH = """#!/bin/sh
# Records how git ran ssh (one folder a run: a source of an earlier test, still
# being deleted, may run it too), then fails as a server refusing the key would.
run="{record}/run-$$"
mkdir -p "$run"
printf '%s\\n' "$@" > "$run/argv"
env > "$run/env"
echo "git@127.0.0.1: Permission denied (publickey)." >&2
exit 255
"""


@pytest.fixture
def hostile_environment(
    tmp_path: pathlib.Path, git_server: GitServer
) -> Iterator[tuple[dict[str, str], pathlib.Path]]:
    """The operator's process environment carrying credentials: an agent socket, an
    ssh command with the operator's key, Git config with an Authorization header;
    and an ``ssh`` on PATH that records how it was run (no sshd on this machine)."""
    bin_dir, record = tmp_path / "bin", tmp_path / "ssh-record"
    bin_dir.mkdir()
    record.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(FAKE_SSH.format(record=record))
    ssh.chmod(ssh.stat().st_mode | stat.S_IEXEC)
    agent = socket.socket(socket.AF_UNIX)
    agent.bind(str(tmp_path / "agent.sock"))
    agent.listen()
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SSH_AUTH_SOCK": str(tmp_path / "agent.sock"),
        "GIT_SSH_COMMAND": "ssh -i /root/.ssh/operator_key -o IdentityAgent="
        + str(tmp_path / "agent.sock"),
        "GIT_CONFIG_PARAMETERS": f"'http.extraHeader'='Authorization: Bearer {TOKEN}'",
    }
    try:
        yield env, record
    finally:
        agent.close()


def test_git_config_in_the_operators_environment_is_never_used(
    admin: kube.Kube,
    namespace: str,
    git_server: GitServer,
    repo: str,
    operator: OperatorProcess,
    hostile_environment: tuple[dict[str, str], pathlib.Path],
) -> None:
    """The operator's environment has Git config with a token for the Git server; an
    anonymous tenant source of a private repository must not ride on it."""
    env, _ = hostile_environment
    _start(operator, env)

    _source(admin, namespace, "borrowed", git_server.url(repo))

    ready = _ready(admin, namespace, "borrowed")
    assert ready["reason"] == "AuthenticationFailed", ready
    assert git_server.requests(repo, "fetch") == 0
    assert TOKEN not in ready["message"]


def _ssh_run(record: pathlib.Path, repo: str) -> tuple[list[str], dict[str, str]]:
    """How ssh was last run for ``repo`` (a path on the remote)."""
    runs = sorted(
        (run for run in record.glob("run-*") if repo in (run / "argv").read_text()),
        key=lambda run: (run / "argv").stat().st_mtime,
    )
    assert runs, f"ssh never ran for {repo}"
    argv = (runs[-1] / "argv").read_text().splitlines()
    env = dict(
        line.split("=", 1) for line in (runs[-1] / "env").read_text().splitlines() if "=" in line
    )
    return argv, env


def _options(argv: list[str]) -> dict[str, str]:
    return dict(
        argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "-o" and i + 1 < len(argv)
    )


def test_a_keyless_ssh_source_offers_no_key_agent_or_password_of_the_operator(
    admin: kube.Kube,
    namespace: str,
    operator: OperatorProcess,
    hostile_environment: tuple[dict[str, str], pathlib.Path],
) -> None:
    """An ssh:// source without a secretRef: ssh finds the operator's ``~/.ssh`` keys
    through the password database whatever ``HOME`` says, and the agent through
    ``SSH_AUTH_SOCK`` — neither may be offered."""
    env, record = hostile_environment
    _start(operator, env)

    _source(admin, namespace, "keyless", "ssh://git@127.0.0.1:2222/team/keyless.git")

    ready = _ready(admin, namespace, "keyless")
    assert ready["reason"] == "AuthenticationFailed", ready
    argv, ssh_env = _ssh_run(record, "team/keyless.git")
    options = _options(argv)
    assert argv[:2] == ["-F", "/dev/null"], argv
    assert "-i" not in argv, argv
    assert options["IdentityFile"] == "none"
    assert options["IdentitiesOnly"] == "yes"
    assert options["IdentityAgent"] == "none"
    assert options["BatchMode"] == "yes"
    assert options["StrictHostKeyChecking"] == "yes"
    assert options["PasswordAuthentication"] == "no"
    assert options["KbdInteractiveAuthentication"] == "no"
    assert options["GlobalKnownHostsFile"] == "/dev/null"
    known_hosts = options["UserKnownHostsFile"]
    assert "/root/.ssh" not in known_hosts
    assert known_hosts != "~/.ssh/known_hosts"
    assert "SSH_AUTH_SOCK" not in ssh_env
    assert "GIT_CONFIG_PARAMETERS" not in ssh_env
    assert "operator_key" not in " ".join(argv)


def test_an_ssh_source_with_a_key_offers_only_that_key(
    admin: kube.Kube,
    namespace: str,
    operator: OperatorProcess,
    hostile_environment: tuple[dict[str, str], pathlib.Path],
) -> None:
    """With a secretRef, ssh offers the Secret's key and nothing of the operator's."""
    env, record = hostile_environment
    _start(operator, env)
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ssh-auth", "namespace": namespace},
            "stringData": {
                "identity": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
                "known_hosts": "[127.0.0.1]:2222 ssh-ed25519 AAAA",
            },
        },
        field_manager="test",
        force=True,
    )

    _source(
        admin,
        namespace,
        "keyed",
        "ssh://git@127.0.0.1:2222/team/keyed.git",
        secretRef={"name": "ssh-auth"},
    )

    assert _ready(admin, namespace, "keyed")["reason"] == "AuthenticationFailed"
    argv, ssh_env = _ssh_run(record, "team/keyed.git")
    options = _options(argv)
    assert argv.count("-i") == 1, argv
    assert "operator_key" not in " ".join(argv), argv
    assert options["IdentitiesOnly"] == "yes"
    assert options["IdentityAgent"] == "none"
    assert "SSH_AUTH_SOCK" not in ssh_env


# -- one spelling per URL ------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        # (an upper-case scheme is refused by the CRD's pattern already)
        "http://127.0.0.1.:{port}/{repo}.git",
        "http://127.0.0.1:0{port}/elsewhere/../{repo}.git",
        "http://2130706433:{port}//{repo}.git",
        "http://0x7f.1:{port}/./%7B%7D/../{repo}.git",
        "http://[::ffff:127.0.0.1]:{port}/{repo}.git",
        "http://anyone:x@127.0.0.1:{port}/%2e%2e/{repo}.git",
    ],
)
def test_a_deny_line_cannot_be_dodged_by_spelling_the_url_differently(
    admin: kube.Kube,
    namespace: str,
    git_server: GitServer,
    policy_files: PolicyFiles,
    spelling: str,
) -> None:
    """The platform denies a host with a ``/**`` line; the tenant writes the same
    remote in another spelling that the fetch would happily follow."""
    port = urllib.parse.urlsplit(git_server.base_url).port
    public = f"denied-{namespace}"  # anyone may read it: only the policy stands in the way
    git_server.create(public, public=True)
    git_server.commit(public, {"a.yaml": "kind: ConfigMap\n"})
    policy_files.add(f"p, role:tenant, source, http://127.0.0.1:{port}/**, deny")

    _source(admin, namespace, "spelled", spelling.format(port=port, repo=public))

    ready = _ready(admin, namespace, "spelled")
    assert ready["reason"] == "PolicyDenied", ready
    assert f"http://127.0.0.1:{port}/{public}.git" in ready["message"]
    assert git_server.requests(public, "ls-refs") == 0


# -- the platform's network ------------------------------------------------------


def test_the_default_deny_list_refuses_the_loopback_git_server(
    admin: kube.Kube, namespace: str, git_server: GitServer, operator: OperatorProcess
) -> None:
    """The Git server on the operator's loopback answers anyone; a tenant source
    pointing there (as it could point at any service on the operator's host) is
    refused before a connection, while the platform's own source still fetches."""
    git_server.create("on-loopback", public=True)
    git_server.commit("on-loopback", {"a.yaml": "kind: ConfigMap\n"})
    _start(operator, DEFAULT_NETWORKS)

    _source(admin, namespace, "loopback", git_server.url("on-loopback"))
    _source(admin, PLATFORM_NAMESPACE, "exempt-platform-source", git_server.url("on-loopback"))

    try:
        refused = _ready(admin, namespace, "loopback")
        platform = _ready(admin, PLATFORM_NAMESPACE, "exempt-platform-source")
    finally:
        admin.delete(api.API_VERSION, "GitRepository", "exempt-platform-source", PLATFORM_NAMESPACE)
    assert refused["reason"] == UNREACHABLE, refused
    assert refused["message"] == (
        f"could not fetch from {git_server.url('on-loopback')}; "
        "check the URL, the network and the credentials"
    )
    assert platform["reason"] == "Succeeded", platform
    assert git_server.requests("on-loopback", "fetch") == 1  # the platform's only
    assert "denied network 127.0.0.0/8" in operator.log()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data.git",
        "http://[fe80::1]:{port}/x.git",
        "http://localhost:{port}/{repo}.git",
        "http://2130706433:{port}/{repo}.git",
        "http://[::ffff:7f00:1]:{port}/{repo}.git",
        "http://0.0.0.0:{port}/{repo}.git",
        "http://10.0.0.1/x.git",
    ],
)
def test_metadata_link_local_cluster_and_loopback_addresses_are_refused(
    admin: kube.Kube,
    namespace: str,
    git_server: GitServer,
    repo: str,
    operator: OperatorProcess,
    url: str,
) -> None:
    """The cloud metadata service, link-local, the cluster's Service range, and
    loopback under other names: each is checked after resolution and refused."""
    _start(operator, DEFAULT_NETWORKS)
    port = urllib.parse.urlsplit(git_server.base_url).port
    target = url.format(port=port, repo=repo)

    _source(admin, namespace, "inside", target)

    ready = _ready(admin, namespace, "inside")
    assert ready["reason"] == UNREACHABLE, ready
    assert ready["message"].endswith("check the URL, the network and the credentials")
    assert git_server.requests(repo, "ls-refs") == 0
    assert "resolves to" in operator.log()
    assert "denied network" in operator.log()


def test_the_apiserver_is_refused_even_where_loopback_is_allowed(
    admin: kube.Kube, namespace: str, operator: OperatorProcess
) -> None:
    """The test operator allows 127.0.0.1 for its Git server; the apiserver listens
    there too, and a source pointing at it is refused before any connection."""
    port = _apiserver_port(admin)

    _source(admin, namespace, "apiserver", f"https://127.0.0.1:{port}/api/v1/secrets.git")

    ready = _ready(admin, namespace, "apiserver")
    assert ready["reason"] == UNREACHABLE, ready
    assert "is the apiserver" in operator.log()


@contextlib.contextmanager
def _silent_listener() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_refused_timed_out_tls_failed_and_denied_all_read_the_same(
    admin: kube.Kube, namespace: str, git_server: GitServer, operator: OperatorProcess
) -> None:
    """A tenant probes ports through its source's status: a closed port, a port
    that never answers, a non-TLS port spoken to over https, and a denied address
    must be indistinguishable (reason and message, but for the URL it wrote)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # closed again: nothing listens there
    git_port = urllib.parse.urlsplit(git_server.base_url).port
    with _silent_listener() as silent:
        urls = {
            "refused": f"http://127.0.0.1:{closed}/x.git",
            "timeout": f"http://127.0.0.1:{silent}/x.git",
            "tls": f"https://127.0.0.1:{git_port}/x.git",
            "denied": f"https://127.0.0.1:{_apiserver_port(admin)}/x.git",
        }
        for name, url in urls.items():
            _source(admin, namespace, name, url, timeout="2s")
        seen = {name: _ready(admin, namespace, name) for name in urls}

    shapes = {(c["reason"], c["message"].replace(urls[n], "<url>")) for n, c in seen.items()}
    assert shapes == {
        (UNREACHABLE, "could not fetch from <url>; check the URL, the network and the credentials")
    }, seen
    log = operator.log()
    assert "timed out" in log
    assert "is the apiserver" in log


def test_the_platform_can_widen_and_narrow_the_list(
    admin: kube.Kube, namespace: str, git_server: GitServer, operator: OperatorProcess
) -> None:
    """Allowing exactly the Git server's ``address:port`` lets that source fetch and
    keeps every other port of the host denied."""
    port = urllib.parse.urlsplit(git_server.base_url).port
    git_server.create("allowed-port", public=True)
    sha = git_server.commit("allowed-port", {"a.yaml": "kind: ConfigMap\n"})
    _start(operator, {"LANDLORD_SOURCES__ALLOWED_NETWORKS": f"127.0.0.1:{port}"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        other = probe.getsockname()[1]

    _source(admin, namespace, "allowed", git_server.url("allowed-port"))
    _source(admin, namespace, "other-port", f"http://127.0.0.1:{other}/x.git")

    assert _ready(admin, namespace, "allowed")["reason"] == "Succeeded"
    body = admin.get(api.API_VERSION, "GitRepository", "allowed", namespace) or {}
    assert body["status"]["artifact"]["revision"] == f"main@sha1:{sha}"
    assert _ready(admin, namespace, "other-port")["reason"] == UNREACHABLE
    assert f"127.0.0.1 port {other} is in the denied network 127.0.0.0/8" in operator.log()
