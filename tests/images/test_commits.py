"""Image bumps committed and pushed to a REAL Git server on loopback.

Exactly the marked fields change, the author is the automation's, nothing is
committed when nothing changed, a push that lost a race is redone on top of
the winner, another branch can be the target, and no credential leaks.
"""

from __future__ import annotations

import pathlib
import subprocess
import urllib.parse
from collections.abc import Sequence

import pytest

from landlord.demo import GitServer
from landlord.git.command import GitError
from landlord.git.credentials import Credentials
from landlord.git.network import Resolution
from landlord.git.workspace import Checkout, PushRejectedError
from landlord.images import commits, message
from landlord.images.setters import Change
from tests.fixtures.git import PASSWORD, USER

BASIC = Credentials(username=USER, password=PASSWORD)
AUTHOR = ("Image Bot", "bot@example.com")
OLD = "ghcr.io/stefanprodan/podinfo:6.4.0"
NEW = "ghcr.io/stefanprodan/podinfo:6.5.0"
IMAGES = {"apps:podinfo": NEW}
DEPLOYMENT = """\
# The podinfo Deployment: keep this comment.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo   # trailing comment
spec:
  template:
    spec:
      containers:
        - name: podinfo
          image: {image} # {{"$imagepolicy": "apps:podinfo"}}
          args: ["--port", '9898']
        - name: sidecar
          image: busybox:1.36 # not automated
"""
VALUES = (
    "image:\r\n  repository: ghcr.io/stefanprodan/podinfo\r\n"
    '  tag: "6.4.0" # {"$imagepolicy": "apps:podinfo:tag"}\r\n'
)


def deployment(image: str) -> str:
    return DEPLOYMENT.format(image=image)


@pytest.fixture
def pushable(git_server: GitServer, request: pytest.FixtureRequest) -> str:
    """A repository the automation may push to, holding marked manifests on main."""
    name = (
        "push-" + str(request.node.name).replace("[", "-").replace("]", "").replace("_", "-")[:50]
    )
    git_server.create(name, pushable=True)
    git_server.commit(
        name,
        {
            "apps/deploy.yaml": deployment(OLD),
            "apps/values.yaml": VALUES.encode(),
            "apps/README.md": f'image: {OLD} # {{"$imagepolicy": "apps:podinfo"}}\n',
            "other/deploy.yaml": deployment(OLD),
        },
    )
    return name


def show(server: GitServer, repo: str, ref: str, what: str = "") -> str:
    """``git show`` of the served repository, bytes for bytes (CRLF stays CRLF)."""
    bare = server.root / f"{repo}.git"
    args = ["git", "--git-dir", str(bare)]
    out: bytes = subprocess.run(
        [*args, "show", "-s", f"--format={what}", ref] if what else [*args, "show", ref],
        capture_output=True,
        check=True,
    ).stdout
    return out.decode()


def head(server: GitServer, repo: str, branch: str = "main") -> str | None:
    bare = server.root / f"{repo}.git"
    found = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or None


def checkout(server: GitServer, repo: str, workdir: pathlib.Path, **kwargs: object) -> Checkout:
    options: dict[str, object] = {"workdir": workdir, "branch": "main", "timeout": 30}
    options.update(kwargs)
    credentials = options.pop("credentials", BASIC)
    url = str(options.pop("url", server.url(repo)))
    return Checkout(url, credentials, **options)  # type: ignore[arg-type]


def run(work: Checkout, **kwargs: object) -> commits.Pushed:
    options: dict[str, object] = {
        "path": "apps",
        "images": IMAGES,
        "author": AUTHOR,
        "message": lambda changes: message.render(None, automation="apps/bumper", changes=changes),
        "push_branch": None,
        "attempts": 3,
        "max_files": 100,
        "max_file_bytes": 100_000,
    }
    options.update(kwargs)
    return commits.update(work, **options)  # type: ignore[arg-type]


def test_exactly_the_marked_fields_change_and_everything_else_stays(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    before = head(git_server, pushable)
    pushed = run(checkout(git_server, pushable, tmp_path / "w"))

    assert pushed.sha is not None
    assert pushed.sha == head(git_server, pushable)
    assert show(git_server, pushable, f"{pushed.sha}^", "%H").strip() == before
    assert show(git_server, pushable, "main:apps/deploy.yaml") == deployment(NEW)
    assert show(git_server, pushable, "main:apps/values.yaml") == VALUES.replace(
        '"6.4.0"', '"6.5.0"'
    )
    # outside the path, and files that are no YAML, are not touched
    assert show(git_server, pushable, "main:other/deploy.yaml") == deployment(OLD)
    assert OLD in show(git_server, pushable, "main:apps/README.md")
    # only the two files changed in the commit
    changed = subprocess.run(
        [
            "git",
            "--git-dir",
            str(git_server.root / f"{pushable}.git"),
            "diff-tree",
            "--no-commit-id",
            "--name-only",
            "-r",
            pushed.sha,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert changed == ["apps/deploy.yaml", "apps/values.yaml"]
    assert [(c.file, c.setter, c.old, c.new) for c in pushed.changes] == [
        ("apps/deploy.yaml", "apps:podinfo", OLD, NEW),
        ("apps/values.yaml", "apps:podinfo:tag", "6.4.0", "6.5.0"),
    ]
    # the author is the automation's, the committer Landlord; the message names the changes
    assert show(git_server, pushable, pushed.sha, "%an <%ae>|%cn <%ce>") == (
        "Image Bot <bot@example.com>|Landlord <landlord@landlord.invalid>\n"
    )
    body = show(git_server, pushable, pushed.sha, "%B")
    assert body.startswith("Update images from ImageUpdateAutomation apps/bumper\n")
    assert f"apps/deploy.yaml:11 {OLD} -> {NEW} (apps:podinfo)" in body


def test_nothing_changed_means_no_commit(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    work = checkout(git_server, pushable, tmp_path / "w")
    first = run(work)
    assert first.sha is not None
    messages: list[Sequence[Change]] = []

    def remember(changes: Sequence[Change]) -> str:
        messages.append(changes)
        return "never"

    again = run(work, message=remember)
    assert again == commits.Pushed(None, ())
    assert messages == []
    assert head(git_server, pushable) == first.sha
    # a policy no file names changes nothing either
    assert run(work, images={"apps:other": "x/y:1"}) == commits.Pushed(None, ())
    assert head(git_server, pushable) == first.sha


def test_a_push_that_lost_the_race_is_redone_on_top_of_the_winner(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    attempts: list[int] = []

    def someone_else_pushes(attempt: int) -> None:
        attempts.append(attempt)
        if attempt == 1:  # between our sync and our push
            git_server.commit(pushable, {"apps/extra.yaml": "kind: ConfigMap\n"}, message="tenant")

    pushed = run(checkout(git_server, pushable, tmp_path / "w"), before_push=someone_else_pushes)

    assert attempts == [1, 2]
    assert pushed.sha == head(git_server, pushable)
    assert show(git_server, pushable, f"{pushed.sha}^", "%s").strip() == "tenant"
    assert show(git_server, pushable, "main:apps/extra.yaml") == "kind: ConfigMap\n"
    assert show(git_server, pushable, "main:apps/deploy.yaml") == deployment(NEW)
    assert [c.file for c in pushed.changes] == ["apps/deploy.yaml", "apps/values.yaml"]


def test_a_winner_that_made_the_same_bump_leaves_nothing_to_commit(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    def someone_else_bumps(attempt: int) -> None:
        git_server.commit(
            pushable,
            {
                "apps/deploy.yaml": deployment(NEW),
                "apps/values.yaml": VALUES.replace("6.4.0", "6.5.0"),
            },
            message="bumped by hand",
        )

    pushed = run(checkout(git_server, pushable, tmp_path / "w"), before_push=someone_else_bumps)

    assert pushed == commits.Pushed(None, ())
    assert show(git_server, pushable, "main", "%s").strip() == "bumped by hand"


def test_losing_every_race_is_an_error_and_nothing_lands(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    def always_first(attempt: int) -> None:
        git_server.commit(pushable, {f"apps/n{attempt}.yaml": "a: 1\n"}, message=f"n{attempt}")

    with pytest.raises(PushRejectedError):
        run(checkout(git_server, pushable, tmp_path / "w"), before_push=always_first, attempts=2)
    assert show(git_server, pushable, "main:apps/deploy.yaml") == deployment(OLD)
    assert show(git_server, pushable, "main", "%s").strip() == "n2"


def test_pushing_to_another_branch_starts_from_it_once_it_exists(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    main = head(git_server, pushable)
    work = checkout(git_server, pushable, tmp_path / "w")

    first = run(work, push_branch="image-updates")
    assert first.sha == head(git_server, pushable, "image-updates")
    assert head(git_server, pushable) == main  # the checkout branch is untouched
    assert show(git_server, pushable, f"{first.sha}^", "%H").strip() == main
    # main still has the old image; the push branch has the bump already: no second commit
    assert run(work, push_branch="image-updates") == commits.Pushed(None, ())
    # a newer image: committed on top of the push branch, not of main
    newer = run(
        work, push_branch="image-updates", images={"apps:podinfo": "ghcr.io/x/podinfo:7.0.0"}
    )
    assert newer.sha == head(git_server, pushable, "image-updates")
    assert show(git_server, pushable, f"{newer.sha}^", "%H").strip() == first.sha
    assert (newer.changes[0].old, newer.changes[0].new) == (NEW, "ghcr.io/x/podinfo:7.0.0")
    assert head(git_server, pushable) == main
    # the push branch named like the checkout branch is a plain push
    same = run(work, push_branch="main")
    assert same.sha == head(git_server, pushable)


def test_a_pinned_checkout_connects_to_the_checked_address(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    port = urllib.parse.urlsplit(git_server.base_url).port
    assert port is not None
    url = f"http://landlord-pinned.invalid:{port}/{pushable}.git"
    pinned = checkout(
        git_server,
        pushable,
        tmp_path / "pinned",
        url=url,
        resolution=Resolution("landlord-pinned.invalid", port, ("127.0.0.1",)),
    )
    assert run(pinned).sha == head(git_server, pushable)
    unpinned = checkout(git_server, pushable, tmp_path / "unpinned", url=url)
    with pytest.raises(GitError) as failed:
        run(unpinned)
    assert "resolve host" in failed.value.detail


@pytest.mark.parametrize("where", ["secret", "url"])
def test_credentials_never_reach_an_error(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path, where: str
) -> None:
    wrong = "Wr0ng-" + PASSWORD
    if where == "secret":
        work = checkout(
            git_server,
            pushable,
            tmp_path / "w",
            credentials=Credentials(username=USER, password=wrong),
        )
    else:
        parts = urllib.parse.urlsplit(git_server.url(pushable))
        url = parts._replace(netloc=f"{USER}:{wrong}@{parts.netloc}").geturl()
        work = checkout(git_server, pushable, tmp_path / "w", url=url, credentials=None)
    with pytest.raises(GitError) as failed:
        run(work)
    assert failed.value.reason == "AuthenticationFailed"
    for text in (str(failed.value), failed.value.detail, repr(failed.value)):
        assert wrong not in text
        assert PASSWORD not in text


def test_a_push_the_server_refuses_keeps_the_credentials_out(
    git_server: GitServer, tmp_path: pathlib.Path
) -> None:
    git_server.create("read-only-images", pushable=False)
    git_server.commit("read-only-images", {"apps/deploy.yaml": deployment(OLD)})
    with pytest.raises(GitError) as failed:
        run(checkout(git_server, "read-only-images", tmp_path / "w"))
    for text in (str(failed.value), failed.value.detail):
        assert PASSWORD not in text
    assert show(git_server, "read-only-images", "main:apps/deploy.yaml") == deployment(OLD)


def test_an_empty_branch_or_a_bad_path_is_a_clear_error(
    git_server: GitServer, pushable: str, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(GitError, match="has no commit to update") as failed:
        run(checkout(git_server, pushable, tmp_path / "a", branch="nope"))
    assert failed.value.reason == "RefNotFound"
    with pytest.raises(ValueError, match="leaves the repository"):
        run(checkout(git_server, pushable, tmp_path / "b"), path="../..")
    before = head(git_server, pushable)
    with pytest.raises(message.InvalidTemplateError):
        run(
            checkout(git_server, pushable, tmp_path / "c"),
            message=lambda changes: message.render(
                "{{ .Nope }}", automation="a/b", changes=changes
            ),
        )
    assert head(git_server, pushable) == before
