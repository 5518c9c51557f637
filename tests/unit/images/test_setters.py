"""Setter markers: exactly the marked YAML scalars change, every other byte stays."""

from __future__ import annotations

import os
import pathlib

import pytest

from landlord.images import setters

IMAGES = {
    "apps:podinfo": "ghcr.io/stefanprodan/podinfo:6.5.0",
    "apps:redis": "127.0.0.1:5000/cache/redis:7.2.4",
    "apps:numeric": "registry.example.com/app:1.10",
    "apps:digest": "registry.example.com/app:1.2.3@sha256:" + "a" * 64,
    "apps:bare": "registry.example.com/app@sha256:" + "b" * 64,
}
M = '# {"$imagepolicy": "apps:podinfo"}'
TAG = '# {"$imagepolicy": "apps:podinfo:tag"}'
NAME = '# {"$imagepolicy": "apps:podinfo:name"}'

CASES = [
    # a block mapping value, plain
    (
        f"image: ghcr.io/stefanprodan/podinfo:6.4.0 {M}\n",
        f"image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n",
    ),
    # nested deep in a Deployment, other comments and fields untouched
    (
        "apiVersion: apps/v1  # keep me\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: podinfo   # the app\n"
        f"        image: ghcr.io/stefanprodan/podinfo:6.0.0   {M}\n"
        "        ports: [{containerPort: 9898}]\n",
        "apiVersion: apps/v1  # keep me\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: podinfo   # the app\n"
        f"        image: ghcr.io/stefanprodan/podinfo:6.5.0   {M}\n"
        "        ports: [{containerPort: 9898}]\n",
    ),
    # a list item, and a list item that is a mapping
    (
        f"images:\n  - podinfo:1 {M}\n  - other:1\n",
        f"images:\n  - ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n  - other:1\n",
    ),
    (f"- image: podinfo:1 {M}\n", f"- image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n"),
    (f"- - podinfo:1 {M}\n", f"- - ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n"),
    # quoted values keep their quotes; a quoted key too
    (f'image: "podinfo:1" {M}\n', f'image: "ghcr.io/stefanprodan/podinfo:6.5.0" {M}\n'),
    (f"image: 'podinfo:1' {M}\n", f"image: 'ghcr.io/stefanprodan/podinfo:6.5.0' {M}\n"),
    (f'"image" : podinfo:1 {M}\n', f'"image" : ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n'),
    # tag and name setters (Helm values style)
    (
        f"image:\n  repository: ghcr.io/old/podinfo {NAME}\n  tag: 6.4.0 {TAG}\n",
        f"image:\n  repository: ghcr.io/stefanprodan/podinfo {NAME}\n  tag: 6.5.0 {TAG}\n",
    ),
    # a tag YAML would read as a number is quoted, so the chart gets the exact tag
    (
        'tag: 1.0 # {"$imagepolicy": "apps:numeric:tag"}\n',
        'tag: "1.10" # {"$imagepolicy": "apps:numeric:tag"}\n',
    ),
    (
        'tag: \'1.0\' # {"$imagepolicy": "apps:numeric:tag"}\n',
        'tag: \'1.10\' # {"$imagepolicy": "apps:numeric:tag"}\n',
    ),
    # a registry with a port: the tag split is after the last "/"
    (
        'image: 127.0.0.1:5000/cache/redis:7.0 # {"$imagepolicy": "apps:redis"}\n',
        'image: 127.0.0.1:5000/cache/redis:7.2.4 # {"$imagepolicy": "apps:redis"}\n',
    ),
    (
        'repo: x # {"$imagepolicy": "apps:redis:name"}\n'
        'tag: "7" # {"$imagepolicy": "apps:redis:tag"}\n',
        'repo: 127.0.0.1:5000/cache/redis # {"$imagepolicy": "apps:redis:name"}\n'
        'tag: "7.2.4" # {"$imagepolicy": "apps:redis:tag"}\n',
    ),
    # digests
    (
        'image: app:1 # {"$imagepolicy": "apps:digest"}\n',
        f"image: registry.example.com/app:1.2.3@sha256:{'a' * 64} "
        '# {"$imagepolicy": "apps:digest"}\n',
    ),
    (
        'tag: "1" # {"$imagepolicy": "apps:digest:tag"}\n'
        'name: x # {"$imagepolicy": "apps:digest:name"}\n',
        f'tag: "1.2.3@sha256:{"a" * 64}" # {{"$imagepolicy": "apps:digest:tag"}}\n'
        'name: registry.example.com/app # {"$imagepolicy": "apps:digest:name"}\n',
    ),
    (
        'name: x # {"$imagepolicy": "apps:bare:name"}\n',
        'name: registry.example.com/app # {"$imagepolicy": "apps:bare:name"}\n',
    ),
    # CRLF line endings stay CRLF; a missing final newline stays missing
    (
        f"a: 1\r\nimage: podinfo:1 {M}\r\nb: 2\r\n",
        f"a: 1\r\nimage: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\r\nb: 2\r\n",
    ),
    (f"image: podinfo:1 {M}", f"image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}"),
    # multi-document files; tabs and extra spaces before the comment kept
    (
        f"---\na: 1\n---\nimage: podinfo:1\t{M}\n...\n",
        f"---\na: 1\n---\nimage: ghcr.io/stefanprodan/podinfo:6.5.0\t{M}\n...\n",
    ),
    # a compact marker, and one with more keys in its JSON
    (
        'image: p:1 #{"$imagepolicy":"apps:podinfo"}\n',
        'image: ghcr.io/stefanprodan/podinfo:6.5.0 #{"$imagepolicy":"apps:podinfo"}\n',
    ),
    # a block scalar after a marked value ends where the indentation does
    (
        f"script: |\n  echo hi\nimage: p:1 {M}\n",
        f"script: |\n  echo hi\nimage: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n",
    ),
]

UNCHANGED = [
    # already the latest
    f"image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n",
    'tag: 6.5.0 # {"$imagepolicy": "apps:podinfo:tag"}\n',
    # a marker for a policy this automation does not know
    'image: nginx:1 # {"$imagepolicy": "apps:unknown"}\n',
    'image: nginx:1 # {"$imagepolicy": "other:podinfo"}\n',
    # a marker on a comment-only line, inside a block scalar (| and >-), or in a list item's block
    f"# image: podinfo:1 {M}\n",
    f"config: |\n  image: podinfo:1 {M}\n  more\n",
    f"config: >-\n  image: podinfo:1 {M}\n",
    f"- |\n  image: podinfo:1 {M}\n",
    f"a:\n  b: |2\n     image: podinfo:1 {M}\n",
    # not a plain or quoted scalar: flow collections, anchors, aliases, tags, nothing
    f"images: [podinfo:1] {M}\n",
    f"image: {{name: podinfo:1}} {M}\n",
    f"image: &img podinfo:1 {M}\n",
    f"image: *img {M}\n",
    f"image: !!str podinfo:1 {M}\n",
    f"image: {M}\n",
    # not a marker: bad JSON, other keys, an unknown part, no namespace
    'image: p:1 # {"$imagepolicy": apps:podinfo}\n',
    'image: p:1 # {"$imagepolicy": ["apps:podinfo"]}\n',
    'image: p:1 # {"imagepolicy": "apps:podinfo"}\n',
    'image: p:1 # {"$imagepolicy": "apps:podinfo:digest"}\n',
    'image: p:1 # {"$imagepolicy": "podinfo"}\n',
    'image: p:1 # {"$imagepolicy": "apps:"}\n',
    # "#" not preceded by a space is part of the value, not a comment
    'image: p:1#{"$imagepolicy": "apps:podinfo"}\n',
    # a digest-only image has no tag to set
    'tag: "1" # {"$imagepolicy": "apps:bare:tag"}\n',
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_marked_fields_change_and_every_other_byte_stays(before: str, after: str) -> None:
    text, changes = setters.rewrite(before, IMAGES, file="deploy.yaml")
    assert text == after
    assert changes
    assert all(change.file == "deploy.yaml" for change in changes)
    # a second run finds nothing left to do
    assert setters.rewrite(text, IMAGES) == (text, [])


@pytest.mark.parametrize("before", UNCHANGED)
def test_what_is_not_a_marked_scalar_is_left_alone(before: str) -> None:
    assert setters.rewrite(before, IMAGES) == (before, [])


def test_changes_name_the_line_the_setter_and_both_values() -> None:
    before = f"a: 1\n\nimage: p:1 {M}\ntag: 6.0.0 {TAG}\n"
    _, changes = setters.rewrite(before, IMAGES, file="x.yaml")
    assert changes == [
        setters.Change("x.yaml", 3, "apps:podinfo", "p:1", "ghcr.io/stefanprodan/podinfo:6.5.0"),
        setters.Change("x.yaml", 4, "apps:podinfo:tag", "6.0.0", "6.5.0"),
    ]


@pytest.mark.parametrize(
    "image",
    [
        "evil:1\nkind: Secret",
        'evil:1" # x',
        "evil:1 # {}",
        "evil: 1",
        "evil:tag with space",
        "",
        "app:" + "t" * 129,
        "app@sha256:short",
        "'quoted'",
    ],
)
def test_an_image_that_is_no_reference_is_never_written(image: str) -> None:
    with pytest.raises(setters.InvalidImageError):
        setters.rewrite(f"image: p:1 {M}\n", {"apps:podinfo": image})


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx", ("nginx", None, None)),
        ("host:5000/app", ("host:5000/app", None, None)),
        ("host:5000/app:1.2", ("host:5000/app", "1.2", None)),
        ("app@sha256:" + "c" * 64, ("app", None, "sha256:" + "c" * 64)),
        ("a/b:v1@sha256:" + "c" * 64, ("a/b", "v1", "sha256:" + "c" * 64)),
    ],
)
def test_split_image(image: str, parts: tuple[str, str | None, str | None]) -> None:
    assert setters.split_image(image) == parts


@pytest.fixture
def tree(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "repo"
    (root / "apps" / "nested").mkdir(parents=True)
    (root / "apps" / "deploy.yaml").write_text(f"image: p:1 {M}\n")
    (root / "apps" / "nested" / "values.yml").write_text(f"tag: 1.0.0 {TAG}\n")
    (root / "apps" / "nested" / "same.yaml").write_text(
        f"image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n"
    )
    (root / "apps" / "README.md").write_text(f"image: p:1 {M}\n")
    (root / "apps" / "other.yaml").write_text('image: x:1 # {"$imagepolicy": "apps:redis"}\n')
    (root / "elsewhere.yaml").write_text(f"image: p:1 {M}\n")
    (root / ".git").mkdir()
    (root / ".git" / "x.yaml").write_text(f"image: p:1 {M}\n")
    return root


def test_rewrite_tree_returns_changed_files_only(tree: pathlib.Path) -> None:
    changed, changes = setters.rewrite_tree(
        tree, "apps", {"apps:podinfo": IMAGES["apps:podinfo"]}, max_files=10, max_file_bytes=1000
    )
    assert changed == {
        "apps/deploy.yaml": f"image: ghcr.io/stefanprodan/podinfo:6.5.0 {M}\n".encode(),
        "apps/nested/values.yml": f"tag: 6.5.0 {TAG}\n".encode(),
    }
    assert [(c.file, c.line) for c in changes] == [
        ("apps/deploy.yaml", 1),
        ("apps/nested/values.yml", 1),
    ]
    # nothing was written: the caller commits
    assert (tree / "apps" / "deploy.yaml").read_text() == f"image: p:1 {M}\n"
    whole, _ = setters.rewrite_tree(tree, ".", IMAGES, max_files=10, max_file_bytes=1000)
    assert "elsewhere.yaml" in whole
    assert ".git/x.yaml" not in whole
    assert setters.rewrite_tree(tree, "./apps/", IMAGES, max_files=10, max_file_bytes=1000)[0]


def test_markers_lists_the_policies_the_files_name(tree: pathlib.Path) -> None:
    assert setters.markers(tree, "apps", max_files=10, max_file_bytes=1000) == {
        "apps:podinfo",
        "apps:redis",
    }
    assert setters.markers(tree, "apps/nested", max_files=10, max_file_bytes=1000) == {
        "apps:podinfo"
    }


@pytest.mark.parametrize("path", ["..", "../repo/../..", "/etc", "apps/../../"])
def test_a_path_leaving_the_repository_is_refused(tree: pathlib.Path, path: str) -> None:
    with pytest.raises(ValueError, match="leaves the repository"):
        setters.rewrite_tree(tree, path, IMAGES, max_files=10, max_file_bytes=1000)
    with pytest.raises(ValueError, match="leaves the repository"):
        setters.markers(tree, path, max_files=10, max_file_bytes=1000)


def test_a_missing_folder_is_refused(tree: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="is not a folder"):
        setters.rewrite_tree(tree, "nope", IMAGES, max_files=10, max_file_bytes=1000)


def test_symbolic_links_are_not_followed(tree: pathlib.Path, tmp_path: pathlib.Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"image: p:1 {M}\n")
    os.symlink(outside / "secret.yaml", tree / "apps" / "link.yaml")
    os.symlink(outside, tree / "apps" / "linkdir")
    changed, _ = setters.rewrite_tree(tree, "apps", IMAGES, max_files=10, max_file_bytes=1000)
    assert not any("link" in path for path in changed)
    os.symlink(outside, tree / "escape")
    with pytest.raises(ValueError, match="leaves the repository"):
        setters.rewrite_tree(tree, "escape", IMAGES, max_files=10, max_file_bytes=1000)


def test_limits_skip_big_files_and_refuse_too_many(tree: pathlib.Path) -> None:
    (tree / "apps" / "big.yaml").write_text(f"image: p:1 {M}\n" + "#" * 5000 + "\n")
    (tree / "apps" / "latin1.yaml").write_bytes(f"image: p:1 {M} \xe9\n".encode("latin-1"))
    skipped: list[tuple[str, str]] = []
    changed, _ = setters.rewrite_tree(
        tree,
        "apps",
        IMAGES,
        max_files=10,
        max_file_bytes=1000,
        on_skip=lambda p, w: skipped.append((p, w)),
    )
    assert "apps/big.yaml" not in changed
    assert "apps/latin1.yaml" not in changed
    assert sorted(skipped) == [
        ("apps/big.yaml", "larger than 1000 bytes"),
        ("apps/latin1.yaml", "not UTF-8"),
    ]
    with pytest.raises(setters.TooManyFilesError, match="more than 3 YAML files"):
        setters.rewrite_tree(tree, "apps", IMAGES, max_files=3, max_file_bytes=1000)
