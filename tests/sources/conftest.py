"""A real Git server on loopback (``git http-backend`` behind basic auth)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from landlord.gitserver import GitServer

USER, PASSWORD, TOKEN = "tenant", "s3cr3t-Passw0rd", "tok-9f8e7d6c5b4a"


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    server = GitServer(
        tmp_path_factory.mktemp("git"), users={USER: PASSWORD}, tokens=[TOKEN]
    ).start()
    yield server
    server.stop()


@pytest.fixture
def repo(git_server: GitServer, request: pytest.FixtureRequest) -> str:
    """A fresh repository with one commit on main, named after the test."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    git_server.create(name)
    git_server.commit(name, {"deploy/configmap.yaml": "kind: ConfigMap\n"})
    return name


@pytest.fixture
def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "work"
