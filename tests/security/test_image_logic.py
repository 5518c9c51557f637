"""Hostile input to image automation's pure steps: tags, repository content, templates, ranges.

What a tenant controls here: the tags its registry lists (the policy's
choice is written into files), the repository the automation commits to
(symlinks, huge or many files, paths), the policy's pattern and range, and the
commit message template. Each case is an attempt and checks that nothing was
read or written outside the repository, nothing was pushed, and the refusal
says why. The Git server is the real one on loopback.
"""

from __future__ import annotations

import pathlib
import subprocess
import time

import pytest

from landlord.demo import GitServer
from landlord.git.credentials import Credentials
from landlord.git.workspace import Checkout
from landlord.images import commits, message, setters, tagpolicy
from tests.fixtures.git import PASSWORD, USER

MARKED = 'image: app:1 # {"$imagepolicy": "apps:app"}\n'


def _head(server: GitServer, repo: str) -> str:
    out: bytes = subprocess.run(
        ["git", "--git-dir", str(server.root / f"{repo}.git"), "rev-parse", "refs/heads/main"],
        capture_output=True,
        check=True,
    ).stdout
    return out.decode().strip()


def _update(server: GitServer, repo: str, workdir: pathlib.Path, image: str) -> commits.Pushed:
    checkout = Checkout(
        server.url(repo),
        Credentials(username=USER, password=PASSWORD),
        workdir=workdir,
        branch="main",
        timeout=30,
    )
    return commits.update(
        checkout,
        path="apps",
        images={"apps:app": image},
        author=("Bot", "bot@example.com"),
        message=lambda changes: message.render(None, automation="apps/a", changes=changes),
        push_branch=None,
        attempts=2,
        max_files=50,
        max_file_bytes=10_000,
    )


@pytest.mark.parametrize(
    "tag",
    [
        "1.0\nkind: Secret",  # a second YAML line
        '1.0" # {"$imagepolicy": "apps:other"}',  # closes the quotes, adds a marker
        "1.0 # comment",
        "1.0: x",
        "${HOME}",
        "1.0\r\n---\nkind: ClusterRoleBinding",
    ],
)
def test_a_hostile_tag_is_never_written_into_the_repository(
    git_server: GitServer, tmp_path: pathlib.Path, tag: str
) -> None:
    repo = f"hostile-tag-{abs(hash(tag)) % 10**8}"
    git_server.create(repo, pushable=True)
    git_server.commit(repo, {"apps/deploy.yaml": MARKED})
    before = _head(git_server, repo)
    # the policy's pick is a tag the registry listed; it stays text, never YAML
    chosen = tagpolicy.select([tag], {"alphabetical": {}}, None)
    assert chosen == tag
    with pytest.raises(setters.InvalidImageError, match="is not an image reference"):
        _update(git_server, repo, tmp_path / "w", f"registry.example.com/app:{chosen}")
    assert _head(git_server, repo) == before


def test_symbolic_links_in_the_repository_are_neither_read_nor_written(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    outside = tmp_path / "operator-file.yaml"
    outside.write_text(MARKED)
    repo = "hostile-symlinks"
    git_server.create(repo, pushable=True)
    git_server.commit_tree(
        repo,
        [
            ("100644", "apps/deploy.yaml", MARKED.encode()),
            ("120000", "apps/escape.yaml", str(outside).encode()),
            ("120000", "apps/folder", str(tmp_path).encode()),
            ("120000", "out", b"/etc"),
        ],
    )
    pushed = _update(git_server, repo, tmp_path / "w", "registry.example.com/app:2")
    assert [change.file for change in pushed.changes] == ["apps/deploy.yaml"]
    assert outside.read_text() == MARKED
    with pytest.raises(ValueError, match="leaves the repository"):
        setters.rewrite_tree(tmp_path / "w" / "tree", "out", {}, max_files=5, max_file_bytes=1000)


def test_a_path_out_of_the_repository_is_refused_before_anything_is_read(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "secret.yaml").write_text(MARKED)
    for path in ("..", "../..", "/", "apps/../../.."):
        with pytest.raises(ValueError, match="leaves the repository"):
            setters.markers(tmp_path / "repo", path, max_files=5, max_file_bytes=1000)
    assert (tmp_path / "secret.yaml").read_text() == MARKED


def test_a_repository_too_big_to_rewrite_is_refused_or_skipped_whole(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    repo = "hostile-sizes"
    git_server.create(repo, pushable=True)
    files: dict[str, str | bytes | None] = {f"apps/f{i}.yaml": MARKED for i in range(60)}
    git_server.commit(repo, files)
    before = _head(git_server, repo)
    with pytest.raises(setters.TooManyFilesError, match="more than 50 YAML files"):
        _update(git_server, repo, tmp_path / "w", "registry.example.com/app:2")
    assert _head(git_server, repo) == before  # nothing half-applied
    git_server.commit(
        repo,
        {**{name: None for name in files}, "apps/huge.yaml": MARKED + "#" * 20_000 + "\n"},
    )
    assert _update(git_server, repo, tmp_path / "w2", "registry.example.com/app:2").sha is None


@pytest.mark.parametrize(
    "template",
    [
        "{{ .Secrets }}",
        '{{ printf "%s" .AutomationObject }}',
        '{{ template "x" . }}',
        '{{ define "x" }}{{ end }}',
        "{{ call .F }}",
        '{{ env "HOME" }}',
        "{{ range $f, $o := .Changed.FileChanges }}{{ $o }}{{ end }}",
    ],
)
def test_a_template_cannot_reach_beyond_its_subset(template: str) -> None:
    with pytest.raises(message.InvalidTemplateError):
        message.render(template, automation="apps/a", changes=[])


def test_patterns_ranges_and_numbers_stay_linear() -> None:
    tags = ["a" * 120 + "!"] * 2_000 + ["9" * 120, "1e999999999", "-1e999999999"]
    started = time.monotonic()
    # a backtracking engine takes forever on this; RE2 does not backtrack
    assert tagpolicy.select(tags, {"alphabetical": {}}, {"pattern": "^(a+)+$"}) is None
    assert tagpolicy.select(tags, {"numerical": {}}, None) == "1e999999999"
    huge_range = " || ".join(f">={i}.0.0 <{i}.1.0" for i in range(5_000))
    assert tagpolicy.select(["4999.0.5"], {"semver": {"range": huge_range}}, None) == "4999.0.5"
    assert time.monotonic() - started < 5
