"""Artifacts: caps, link rules, ignore patterns and a stable digest — and the path helper."""

from __future__ import annotations

import errno
import io
import os
import pathlib
import tarfile

import pytest

from landlord.gitops import artifacts
from landlord.gitops.artifacts import ArtifactError, ArtifactStore, Limits
from landlord.gitops.paths import UnsafePathError, resolve_inside


@pytest.fixture(autouse=True, params=["filters", "without-filters"])
def extraction(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case twice: with PEP 706's filters, and as on a Python without them
    (Debian bookworm's 3.11.2, in Landlord's image), where Landlord checks by hand."""
    if request.param == "without-filters":
        monkeypatch.setattr(artifacts, "HAS_FILTERS", False)
    return str(request.param)


def _tar(entries: list[tuple[str, bytes | str, str]]) -> bytes:
    """Entries of (name, content or link target, type 'f'|'l'|'h'|'d')."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content, kind in entries:
            info = tarfile.TarInfo(name)
            if kind == "f":
                data = content if isinstance(content, bytes) else content.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "d":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
                info.linkname = str(content)
                tar.addfile(info)
    return buffer.getvalue()


def _store(
    tmp_path: pathlib.Path,
    archive: bytes,
    *,
    ignore: str | None = None,
    limits: Limits | None = None,
) -> pathlib.Path:
    store = ArtifactStore(tmp_path / "store")
    return store.store(
        "team-a", "repo", "k", archive, ignore=ignore, limits=limits or Limits()
    ).path


def test_files_are_extracted_and_git_metadata_dropped(tmp_path: pathlib.Path) -> None:
    tree = _store(
        tmp_path,
        _tar(
            [
                ("app/", "", "d"),
                ("app/cm.yaml", "kind: ConfigMap", "f"),
                (".gitmodules", "[submodule]", "f"),
                (".git/config", "x", "f"),
            ]
        ),
    )

    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*")) == ["app", "app/cm.yaml"]


def test_ignore_patterns_use_gitignore_syntax(tmp_path: pathlib.Path) -> None:
    archive = _tar(
        [
            ("deploy/a.yaml", "a", "f"),
            ("docs/readme.md", "r", "f"),
            ("deploy/secret.env", "s", "f"),
            ("keep.md", "k", "f"),
        ]
    )

    tree = _store(tmp_path, archive, ignore="docs/\n*.env\n/*.md\n!keep.md\n")

    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()) == [
        "deploy/a.yaml",
        "keep.md",
    ]


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([("evil", "/etc/passwd", "l")], "UnsafeSymlink"),
        ([("a/evil", "../../other-tenant", "l")], "UnsafeSymlink"),
        ([("hard", "etc/passwd", "h")], "UnsafePath"),
        ([("../escape.yaml", "x", "f")], "UnsafePath"),
        # A symlink to a folder inside, then a symlink through it that leaves.
        ([("d", "sub", "l"), ("sub", "", "d"), ("d/out", "../../x", "l")], "UnsafePath"),
        # Writing through a symlink, even one pointing inside (CVE-2025-4517's chain
        # of links whose long paths stop realpath from following them starts so).
        ([("sub", "", "d"), ("d", "sub", "l"), ("d/f.yaml", "x", "f")], "UnsafePath"),
        ([("a.yaml", "x", "f"), ("a.yaml", "y", "f")], "UnsafePath"),
        ([("l", "a" * 1100, "l")], "UnsafePath"),
        ([("a" * 1100, "x", "f")], "UnsafePath"),
    ],
)
def test_unsafe_entries_fail_the_artifact(
    tmp_path: pathlib.Path, entries: list[tuple[str, str, str]], reason: str
) -> None:
    with pytest.raises(ArtifactError) as failed:
        _store(tmp_path, _tar(entries))  # type: ignore[arg-type]
    assert failed.value.reason == reason
    assert not (tmp_path / "store" / "team-a" / "repo" / "k").exists()


def test_symlinks_inside_the_tree_are_kept(tmp_path: pathlib.Path) -> None:
    tree = _store(tmp_path, _tar([("base/cm.yaml", "x", "f"), ("prod", "base", "l")]))
    assert (tree / "prod").is_symlink()
    assert os.readlink(tree / "prod") == "base"


@pytest.mark.parametrize(
    ("limits", "entries", "reason"),
    [
        (Limits(max_files=2), [(f"f{i}", "x", "f") for i in range(3)], "TooManyFiles"),
        (Limits(max_file_bytes=10), [("big", "x" * 11, "f")], "FileTooLarge"),
        (
            Limits(max_total_bytes=15),
            [("a", "x" * 10, "f"), ("b", "x" * 10, "f")],
            "ArtifactTooLarge",
        ),
    ],
)
def test_caps_fail_with_a_clear_reason(
    tmp_path: pathlib.Path, limits: Limits, entries: list[tuple[str, str, str]], reason: str
) -> None:
    with pytest.raises(ArtifactError) as failed:
        _store(tmp_path, _tar(entries), limits=limits)  # type: ignore[arg-type]
    assert failed.value.reason == reason


def test_digest_depends_on_content_only(tmp_path: pathlib.Path) -> None:
    store = ArtifactStore(tmp_path / "s")
    one = store.store(
        "ns",
        "r",
        "a",
        _tar([("x.yaml", "1", "f"), ("y.yaml", "2", "f")]),
        ignore=None,
        limits=Limits(),
    )
    two = store.store(
        "ns",
        "r",
        "b",
        _tar([("y.yaml", "2", "f"), ("x.yaml", "1", "f")]),
        ignore=None,
        limits=Limits(),
    )
    three = store.store(
        "ns",
        "r",
        "c",
        _tar([("x.yaml", "1", "f"), ("y.yaml", "3", "f")]),
        ignore=None,
        limits=Limits(),
    )

    assert one.digest == two.digest != three.digest
    assert one.digest.startswith("sha256:")
    assert store.lookup("ns", "r", "b") == two
    assert store.lookup("ns", "r", "a") is None  # only the last two are kept


def test_resolve_inside_refuses_escapes(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "tree"
    (root / "apps").mkdir(parents=True)
    (root / "out").symlink_to(tmp_path)
    (root / "loop").symlink_to("apps")

    assert resolve_inside(root, "apps") == (root / "apps").resolve()
    assert resolve_inside(root, "./loop") == (root / "apps").resolve()
    assert resolve_inside(root, ".") == root.resolve()
    for bad in ("/etc", "../x", "apps/../../x", "out", "out/secret"):
        with pytest.raises(UnsafePathError):
            resolve_inside(root, bad)


def test_modes_lose_set_id_bits_and_foreign_write_access(tmp_path: pathlib.Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("run.sh")
        info.size, info.mode = 2, 0o6777
        tar.addfile(info, io.BytesIO(b"hi"))
    tree = _store(tmp_path, buffer.getvalue())
    mode = os.stat(tree / "run.sh").st_mode & 0o7777
    assert mode & 0o6000 == 0
    assert mode & 0o022 == 0


def test_a_full_disk_is_storage_full_and_keeps_the_last_artifact(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ArtifactStore(tmp_path)
    first = store.store(
        "ns", "src", "k1", _tar([("a.yaml", "a: 1", "f")]), ignore=None, limits=Limits()
    )

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifacts, "_extract", full)
    with pytest.raises(ArtifactError) as caught:
        store.store(
            "ns", "src", "k2", _tar([("b.yaml", "b: 2", "f")]), ignore=None, limits=Limits()
        )

    assert caught.value.reason == "StorageFull"
    assert store.lookup("ns", "src", "k1") == first  # still served
    assert store.lookup("ns", "src", "k2") is None
    assert not list((tmp_path / "ns").rglob("*.tmp"))  # no half-written staging left
