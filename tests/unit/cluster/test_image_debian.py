"""The Debian base of Landlord's image: the mirror is apt's, the cleaning is thorough."""

from __future__ import annotations

import pathlib

import pytest

from landlord.cluster.images import buildah, debian

DEB822 = """\
Types: deb
# a comment line
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb
URIs: http://mirror.example/debian/ http://second.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

STATUS = """\
Package: python3
Status: install ok installed
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language
 a continuation line: with a colon

Package: removed
Status: deinstall ok config-files
Version: 1.0

Package: git
Status: install ok installed
Version: 1:2.39.5-0+deb12u3
"""


def test_deb822_gives_the_first_uri_of_the_suites_deb_stanza() -> None:
    assert debian.mirror_from_deb822(DEB822) == "http://mirror.example/debian"
    assert debian.mirror_from_deb822(DEB822, "bookworm-security") == (
        "http://mirror.example/debian-security"
    )
    assert debian.mirror_from_deb822(DEB822, "trixie") is None


def test_one_line_sources_skip_options_comments_and_other_suites() -> None:
    text = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n"
    )
    assert debian.mirror_from_list(text) == "http://mirror.example/debian"
    assert debian.mirror_from_list("deb http://x.example/debian trixie main\n") is None


def test_mirror_reads_sources_files_then_sources_list(tmp_path: pathlib.Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("deb http://list.example/debian bookworm main\n")
    assert debian.mirror(etc_apt=tmp_path) == "http://list.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian.mirror(etc_apt=tmp_path) == "http://mirror.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(buildah.ImageBuildError, match="no Debian mirror for bookworm"):
        debian.mirror(etc_apt=tmp_path)


def test_the_base_key_follows_suite_packages_and_mirror() -> None:
    key = debian.base_key("bookworm", ["python3", "git"], "http://a.example/debian")
    assert key == debian.base_key("bookworm", ["git", "python3"], "http://a.example/debian")
    assert key != debian.base_key("bookworm", ["git"], "http://a.example/debian")
    assert key != debian.base_key("bookworm", ["python3", "git"], "http://b.example/debian")
    assert key != debian.base_key("trixie", ["python3", "git"], "http://a.example/debian")


def test_installed_packages_are_read_from_dpkg_status() -> None:
    assert debian.installed_packages(STATUS) == [
        ("git", "1:2.39.5-0+deb12u3"),
        ("python3", "3.11.2-1+b1"),
    ]


def test_shadow_loses_the_day_of_the_build() -> None:
    text = "root:*:20786:0:99999:7:::\nnobody:*:20786:0:99999:7:::\n"
    assert debian.normalize_shadow(text) == "root:*::0:99999:7:::\nnobody:*::0:99999:7:::\n"


def test_clean_removes_what_differs_between_runs(tmp_path: pathlib.Path) -> None:
    files = [
        "etc/hostname",
        "etc/resolv.conf",
        "etc/passwd-",
        "etc/apt/sources.list",
        "var/log/dpkg.log",
        "var/log/apt/history.log",
        "var/lib/apt/lists/deb.debian.org_InRelease",
        "var/cache/apt/archives/git.deb",
        "var/cache/ldconfig/aux-cache",
        "var/cache/debconf/config.dat-old",
        "var/lib/dpkg/status-old",
        "tmp/leftover",
        "dev/null",
    ]
    kept = ["etc/passwd", "var/lib/dpkg/status", "var/cache/debconf/config.dat"]
    for relative in files + kept:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    (tmp_path / "etc/shadow").write_text("root:*:20786:0:99999:7:::\n")
    debian.clean(tmp_path)
    assert [relative for relative in files if (tmp_path / relative).exists()] == []
    assert all((tmp_path / relative).is_file() for relative in kept)
    assert (tmp_path / "var/log/apt").is_dir()
    assert (tmp_path / "etc/shadow").read_text() == "root:*::0:99999:7:::\n"


def test_python_version_is_read_from_the_python3_link(tmp_path: pathlib.Path) -> None:
    (tmp_path / "usr/bin").mkdir(parents=True)
    assert debian.python_version(tmp_path) is None
    (tmp_path / "usr/bin/python3").symlink_to("python3.11")
    assert debian.python_version(tmp_path) == "3.11"


def test_a_user_other_than_root_is_told_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debian.os, "geteuid", lambda: 1000)
    with pytest.raises(buildah.ImageBuildError, match="needs root") as raised:
        debian.require_root()
    assert "make node-tools" in (raised.value.hint or "")


def test_a_missing_tool_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildah.shutil, "which", lambda name: None)
    with pytest.raises(buildah.ImageBuildError, match="debootstrap is not installed") as raised:
        buildah.tool("debootstrap", "debootstrap")
    assert "make node-tools" in (raised.value.hint or "")
