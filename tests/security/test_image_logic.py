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
import tracemalloc

import pytest

from landlord.demo import GitServer
from landlord.git.command import GitError
from landlord.git.credentials import Credentials
from landlord.git.workspace import Checkout, TreeLimits
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
    clone = Checkout(
        git_server.url(repo),
        Credentials(username=USER, password=PASSWORD),
        workdir=tmp_path / "clone",
        branch="main",
        timeout=30,
    )
    clone.sync()  # a run's clone is gone when it ends: look at the links in one of our own
    with pytest.raises(ValueError, match="leaves the repository"):
        setters.rewrite_tree(clone.tree, "out", {}, max_files=5, max_file_bytes=1000)


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


# -- what one run may cost the operator ---------------------------------------------------


def test_a_branch_too_big_to_write_out_is_refused_before_it_is(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    # A tenant's branch that unpacks into more than the operator's disk should hold:
    # refused from the tree listing, before a single file is written to the work tree.
    repo = "hostile-tree"
    git_server.create(repo, pushable=True)
    git_server.commit(
        repo, {"apps/deploy.yaml": MARKED, **{f"pad/{i}.txt": "x" for i in range(30)}}
    )
    before = _head(git_server, repo)
    checkout = Checkout(
        git_server.url(repo),
        Credentials(username=USER, password=PASSWORD),
        workdir=tmp_path / "w",
        branch="main",
        timeout=30,
    )
    limits = TreeLimits(max_files=10, max_total_bytes=10**6)
    with pytest.raises(GitError, match="more than 10 files") as caught:
        checkout.sync(limits=limits)
    assert caught.value.reason == "ArtifactTooLarge"
    assert [p.name for p in checkout.tree.iterdir()] == [".git"]  # nothing written out
    with pytest.raises(GitError, match="more than 10 files") as caught:
        commits.update(
            checkout,
            path="apps",
            images={"apps:app": "registry.example.com/app:2"},
            author=("Bot", "bot@example.com"),
            message=lambda changes: "bump",
            push_branch=None,
            attempts=1,
            max_files=50,
            max_file_bytes=10_000,
            tree_limits=limits,
        )
    assert caught.value.reason == "ArtifactTooLarge"
    assert _head(git_server, repo) == before


def test_no_clone_outlives_its_run(git_server: GitServer, tmp_path: pathlib.Path) -> None:
    # A tenant may declare many automations: none keeps its clone on the operator's disk.
    repo = "ephemeral-clone"
    git_server.create(repo, pushable=True)
    git_server.commit(repo, {"apps/deploy.yaml": MARKED})
    assert _update(git_server, repo, tmp_path / "w", "registry.example.com/app:2").sha
    assert not (tmp_path / "w" / "tree").exists()
    assert _update(git_server, repo, tmp_path / "w", "registry.example.com/app:2").sha is None
    assert not (tmp_path / "w" / "tree").exists()
    with pytest.raises(setters.InvalidImageError):
        _update(git_server, repo, tmp_path / "w", "registry.example.com/app:3\n")
    assert not (tmp_path / "w" / "tree").exists()


def test_the_yaml_read_and_the_changes_made_in_one_run_are_capped(tmp_path: pathlib.Path) -> None:
    # Each file under the per-file cap, together far over what one run may hold in memory.
    (tmp_path / "apps").mkdir()
    for i in range(4):
        (tmp_path / "apps" / f"f{i}.yaml").write_text(MARKED * 800)
    with pytest.raises(setters.TooManyFilesError, match="more than 50000 bytes"):
        setters.rewrite_tree(
            tmp_path,
            "apps",
            {"apps:app": "registry.example.com/app:2"},
            max_files=10,
            max_file_bytes=10**6,
            max_total_bytes=50_000,
        )
    with pytest.raises(setters.TooManyFilesError, match="more than 1000 marked fields"):
        setters.rewrite_tree(
            tmp_path,
            "apps",
            {"apps:app": "registry.example.com/app:2"},
            max_files=10,
            max_file_bytes=10**6,
            max_changes=1_000,
        )


def test_a_message_template_is_never_rendered_past_its_cap() -> None:
    # A 16 KiB range body over thousands of changes: gigabytes if rendered whole first.
    changes = [setters.Change(f"f{i}.yaml", 1, "apps:app", "app:1", "app:2") for i in range(5_000)]
    template = "{{ range .Changed.Changes }}" + "x" * 16_000 + "{{ .NewValue }}{{ end }}"
    tracemalloc.start()
    try:
        text = message.render(template, automation="apps/a", changes=changes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(text.encode()) <= message.MAX_MESSAGE_BYTES + 4
    assert peak < 8 * 1024**2


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/app:1.0\n",  # "$" matches before a final newline
        "registry.example.com/app\n:1.0",
        "registry.example.com/app:1.0@sha256:" + "a" * 64 + "\n",
    ],
)
def test_an_image_ending_in_a_newline_is_not_an_image(image: str) -> None:
    with pytest.raises(setters.InvalidImageError):
        setters.split_image(image)
    with pytest.raises(setters.InvalidImageError):
        setters.rewrite(MARKED, {"apps:app": image})


def test_an_extract_that_multiplies_each_tag_does_not_qualify() -> None:
    tags = [f"{i:0120d}" for i in range(2_000)]
    template = "$0" * 128  # 15 KiB of each tag, all held at once without a cap
    assert (
        tagpolicy.select(tags, {"alphabetical": {}}, {"pattern": ".+", "extract": template}) is None
    )
    assert (
        tagpolicy.select(tags, {"alphabetical": {}}, {"pattern": ".+", "extract": "$0"}) == tags[-1]
    )


@pytest.mark.parametrize("template", ["{{" * 8_192, "{{ " * 5_461, "{{-" + "{{ -" * 4_000])
def test_a_template_built_to_backtrack_is_refused_at_once(template: str) -> None:
    # 16 KiB of unclosed "{{" (what the CRD allows) took a lazy regex 5 s with the GIL
    # held, on every reconcile of every such automation.
    started = time.monotonic()
    with pytest.raises(message.InvalidTemplateError, match="unclosed"):
        message.validate(template)
    assert time.monotonic() - started < 0.5


def test_the_default_message_is_capped_too() -> None:
    # An old value is a whole line of the tenant's file (up to 1 MiB): 100 of them
    # listed made a 100 MiB message, more than git takes as one argument.
    changes = [
        setters.Change(f"f{i}.yaml", 1, "apps:app", "x" * 1_000_000, "app:2") for i in range(100)
    ]
    text = message.render(None, automation="apps/a", changes=changes)
    assert len(text.encode()) <= message.MAX_MESSAGE_BYTES + 4
