"""The Git adapter against a real Git server: auth, refs, failures, and hardening."""

from __future__ import annotations

import os
import pathlib
import re
import socket
import stat
import threading
import urllib.parse

import pytest

from landlord.demo import GitServer
from landlord.git import GitError, GitRemote
from landlord.git.credentials import Credentials
from landlord.git.network import Resolution
from landlord.gitops import sandbox
from tests.sources.conftest import PASSWORD, TOKEN, USER

BASIC = Credentials(username=USER, password=PASSWORD)


def _archive(remote: GitRemote, sha: str) -> bytes:
    """The commit's tar, read through the build sandbox as the reconciler reads it."""
    with remote.open_archive(sha, sandbox.Sandbox(), max_bytes=64 << 20) as stream:
        return stream.read()


def test_basic_auth_lists_and_fetches(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    sha = git_server.commit(repo, {"b.yaml": "b"})
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=30)

    refs = remote.ls_remote()

    assert refs.branch("main") == sha
    assert remote.fetch("refs/heads/main", sha) == sha
    assert b"b.yaml" in _archive(remote, sha)


def test_bearer_token_and_url_credentials(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    bearer = GitRemote(
        git_server.url(repo), Credentials(bearer_token=TOKEN), workdir=workdir / "a", timeout=30
    )
    in_url = GitRemote(
        git_server.url(repo).replace("http://", f"http://{USER}:{PASSWORD}@"),
        None,
        workdir=workdir / "b",
        timeout=30,
    )

    assert bearer.ls_remote().branch("main")
    assert in_url.ls_remote().branch("main")
    assert PASSWORD not in in_url.url


@pytest.mark.parametrize(
    "credentials",
    [
        Credentials(username=USER, password="wrong-password-4711"),
        Credentials(bearer_token="wrong-token-4711"),
        None,
    ],
)
def test_wrong_credentials_fail_without_leaking_them(
    git_server: GitServer, repo: str, workdir: pathlib.Path, credentials: Credentials | None
) -> None:
    remote = GitRemote(git_server.url(repo), credentials, workdir=workdir, timeout=30)

    with pytest.raises(GitError) as failed:
        remote.ls_remote()

    assert failed.value.reason == "AuthenticationFailed"
    assert "4711" not in str(failed.value)


def test_a_deleted_branch_is_ref_not_found(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    git_server.commit(repo, {"x": "1"}, branch="feature")
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=30)
    assert remote.ls_remote().branch("feature")

    git_server.delete_branch(repo, "feature")

    assert remote.ls_remote().branch("feature") is None
    with pytest.raises(GitError) as failed:
        remote.fetch("refs/heads/feature")
    assert failed.value.reason == "RefNotFound"


def test_an_unreachable_host_fails_fast(workdir: pathlib.Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    remote = GitRemote(f"http://127.0.0.1:{port}/x.git", None, workdir=workdir, timeout=30)

    with pytest.raises(GitError) as failed:
        remote.ls_remote()
    # The tenant's message says no more than "unreachable"; the log keeps git's words.
    assert failed.value.reason == "SourceUnreachable"
    assert str(failed.value) == (
        f"could not fetch from http://127.0.0.1:{port}/x.git; "
        "check the URL, the network and the credentials"
    )
    assert re.search(r"Couldn.t connect|Failed to connect", failed.value.detail)


def test_a_stalled_server_times_out(workdir: pathlib.Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow.git"
    try:
        with pytest.raises(GitError) as failed:
            GitRemote(url, None, workdir=workdir, timeout=1.5).ls_remote()
        assert failed.value.reason == "SourceUnreachable"  # as a refused connection reads
        assert "timed out after 2s" in failed.value.detail
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_exact_commit_and_tags(git_server: GitServer, repo: str, workdir: pathlib.Path) -> None:
    first = git_server.commit(repo, {"v": "1"}, tag="v1.0.0")
    git_server.commit(repo, {"v": "2"}, tag="v1.1.0")
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=30)

    refs = remote.ls_remote()

    assert sorted(refs.tags()) == ["v1.0.0", "v1.1.0"]
    assert refs.tag("v1.0.0") == first
    assert remote.fetch(first) == first
    assert remote.fetch("refs/tags/v1.0.0", first) == first


def test_submodules_are_never_fetched(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    git_server.create("private-of-another-tenant")
    secret = git_server.commit("private-of-another-tenant", {"secret.txt": "top secret"})
    sha = git_server.commit(
        repo,
        {
            ".gitmodules": (
                '[submodule "x"]\n\tpath = x\n'
                f"\turl = {git_server.url('private-of-another-tenant')}\n"
            )
        },
    )
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=30)

    remote.fetch("refs/heads/main", sha)

    assert b"top secret" not in _archive(remote, sha)
    assert git_server.requests("private-of-another-tenant", "fetch") == 0
    assert secret


def test_the_users_git_config_and_hooks_are_ignored(
    git_server: GitServer,
    repo: str,
    workdir: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "pwned"
    hook = tmp_path / "evil.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("post-checkout", "reference-transaction", "pre-auto-gc", "post-merge"):
        (hooks / name).symlink_to(hook)
    evil = tmp_path / "evil.gitconfig"
    evil.write_text(
        f"[core]\n\tfsmonitor = {hook}\n\thooksPath = {hooks}\n"
        f'[url "http://127.0.0.1:1/"]\n\tinsteadOf = {git_server.base_url}/\n'
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(evil))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".gitconfig").write_text(evil.read_text())
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=30)

    sha = remote.ls_remote().branch("main")
    assert sha is not None
    remote.fetch("refs/heads/main", sha)
    _archive(remote, sha)
    remote.prune()

    assert not marker.exists()
    assert os.environ["GIT_CONFIG_GLOBAL"] == str(evil)  # the test really set it


def test_ssh_keys_are_private_files_with_strict_host_checking(workdir: pathlib.Path) -> None:
    creds = Credentials(
        identity=b"-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
        known_hosts=b"git.example.com ssh-ed25519 AAAA",
    )
    remote = GitRemote("ssh://git@git.example.com/team/repo.git", creds, workdir=workdir, timeout=5)

    with remote._environment() as env:
        command = env["GIT_SSH_COMMAND"]
        identity = pathlib.Path(command.split(" -i ", 1)[1].split()[0])
        assert stat.S_IMODE(identity.stat().st_mode) == 0o600
        assert "StrictHostKeyChecking=yes" in command
        assert "BatchMode=yes" in command
        assert "-F /dev/null" in command
        keys = {
            env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
            for i in range(int(env["GIT_CONFIG_COUNT"]))
        }
        assert keys["protocol.file.allow"] == "never"
        assert keys["core.fsmonitor"] == "false"
        assert env["GIT_CONFIG_NOSYSTEM"] == "1"
        assert env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert not identity.exists()  # removed as soon as the command is done


def test_the_operators_environment_never_reaches_git(
    git_server: GitServer, repo: str, workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Git config, an agent and an ssh command in the operator's environment are not
    inherited: an anonymous remote of a private repository stays anonymous."""
    header = f"'http.extraHeader'='Authorization: Bearer {TOKEN}'"
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", header)
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/operator-agent.sock")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i /root/.ssh/id_ed25519")
    remote = GitRemote(git_server.url(repo), None, workdir=workdir, timeout=30)

    with pytest.raises(GitError) as failed:
        remote.ls_remote()

    assert failed.value.reason == "AuthenticationFailed"
    with remote._environment() as env:
        assert "SSH_AUTH_SOCK" not in env
        assert "GIT_CONFIG_PARAMETERS" not in env
        assert "id_ed25519" not in env["GIT_SSH_COMMAND"]


def test_a_checked_name_is_fetched_from_the_checked_address(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    """The fetch connects where the network check looked, not where DNS says now:
    ``.invalid`` never resolves, so only the pin can take curl to the server."""
    port = urllib.parse.urlsplit(git_server.base_url).port
    assert port is not None
    url = f"http://landlord-pinned.invalid:{port}/{repo}.git"
    pinned = GitRemote(
        url,
        BASIC,
        workdir=workdir / "pinned",
        timeout=30,
        resolution=Resolution("landlord-pinned.invalid", port, ("127.0.0.1",)),
    )
    unpinned = GitRemote(url, BASIC, workdir=workdir / "unpinned", timeout=30)

    assert pinned.ls_remote().branch("main")
    with pytest.raises(GitError) as failed:
        unpinned.ls_remote()
    assert "resolve host" in failed.value.detail


FAKE_SSH = """#!/bin/sh
printf '%s\\n' "$@" > "{record}"
exit 255
"""


def test_ssh_connects_to_the_checked_address_and_checks_the_named_host_key(
    tmp_path: pathlib.Path, workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For SSH the URL git is given carries the checked address; the host key is
    still looked up under the name the tenant wrote (``HostKeyAlias``)."""
    bin_dir, record = tmp_path / "bin", tmp_path / "argv"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(FAKE_SSH.format(record=record))
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    remote = GitRemote(
        "ssh://git@Git.Example.COM:2222/team/repo.git",
        None,
        workdir=workdir,
        timeout=10,
        resolution=Resolution("git.example.com", 2222, ("192.0.2.7",)),
    )

    with pytest.raises(GitError):
        remote.ls_remote()

    argv = record.read_text().splitlines()
    assert "git@192.0.2.7" in argv
    assert argv[argv.index("git@192.0.2.7") - 1] == "2222"  # git's -p
    assert "HostKeyAlias=[git.example.com]:2222" in argv
    assert "CheckHostIP=no" in argv
    assert "IdentityFile=none" in argv
    assert remote.shown == "ssh://git.example.com:2222/team/repo.git"
