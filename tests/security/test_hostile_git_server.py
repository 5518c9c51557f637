"""A source points at a Git server its tenant controls: what the server sends is bounded.

Refs advertised, ``remote:`` chatter and the pack itself come from the tenant's
side; the operator reads them with caps and stops git when one is passed.
"""

from __future__ import annotations

import os
import pathlib

import pytest

from landlord.demo import GitServer
from landlord.git import GitError, GitRemote
from landlord.git import command as git_command
from landlord.git.credentials import Credentials
from tests.fixtures.git import PASSWORD, USER

BASIC = Credentials(username=USER, password=PASSWORD)


def test_a_ref_list_of_a_million_lines_is_refused_not_buffered(
    git_server: GitServer, repo: str, workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = git_server.commit(repo, {"a.yaml": "a"})
    refs = "".join(f"{sha} refs/tags/t{i:07d}\n" for i in range(200_000))
    (git_server.root / f"{repo}.git" / "packed-refs").write_text(refs)
    monkeypatch.setattr(git_command, "MAX_OUTPUT_BYTES", 1 << 20)
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=60)

    with pytest.raises(GitError) as raised:
        remote.ls_remote()

    assert raised.value.reason == "ArtifactTooLarge"
    assert "too many refs" in raised.value.message


def test_a_pack_larger_than_the_cap_stops_git_while_it_writes(
    git_server: GitServer, repo: str, workdir: pathlib.Path
) -> None:
    sha = git_server.commit(repo, {"noise.bin": os.urandom(3 << 20)})
    remote = GitRemote(git_server.url(repo), BASIC, workdir=workdir, timeout=60)

    with pytest.raises(GitError) as raised:
        remote.fetch("refs/heads/main", sha, max_pack_bytes=1 << 20)

    assert raised.value.reason == "ArtifactTooLarge"
    packs = list((workdir / "repo.git" / "objects" / "pack").glob("*"))
    assert all(p.stat().st_size <= 1 << 20 for p in packs), packs
