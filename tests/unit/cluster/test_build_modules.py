"""The committed Go build modules pin what versions.py says, and builds fail loudly."""

from __future__ import annotations

import os
import pathlib
import re
import stat

import pytest

from landlord import errors
from landlord.cluster import gobuild, versions


def _gomod(name: str) -> str:
    return (gobuild.GOMOD_DIR / name / "go.mod").read_text()


def test_kubernetes_module_pins_every_staging_module_to_the_release() -> None:
    gomod = _gomod("kubernetes")
    staging_tag = "v0." + versions.KUBERNETES.removeprefix("v1.")

    pinned = rf"^\s*(require )?k8s\.io/kubernetes {re.escape(versions.KUBERNETES)}\b"
    assert re.search(pinned, gomod, re.MULTILINE)
    replaces = re.findall(r"^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (\S+)$", gomod, re.MULTILINE)
    assert len(replaces) > 25
    assert all(source == target and tag == staging_tag for source, target, tag in replaces)
    for module in ("k8s.io/api", "k8s.io/apiserver", "k8s.io/client-go", "k8s.io/kubectl"):
        assert module in {source for source, _, _ in replaces}


@pytest.mark.parametrize("group", sorted(gobuild.GROUPS))
def test_each_group_has_a_checksummed_module(group: str) -> None:
    folder = gobuild.GROUPS[group].module_dir
    assert (folder / "go.sum").stat().st_size > 0
    for package in gobuild.GROUPS[group].commands.values():
        assert package in _gomod(group)


def test_kubernetes_binaries_report_the_pinned_version() -> None:
    ldflags = " ".join(gobuild.GROUPS["kubernetes"].ldflags)
    assert f"k8s.io/component-base/version.gitVersion={versions.KUBERNETES}" in ldflags
    major, minor = versions.KUBERNETES.removeprefix("v").split(".")[:2]
    assert f"version.gitMajor={major}" in ldflags
    assert f"version.gitMinor={minor}" in ldflags


def test_cache_key_changes_with_the_module(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("go.mod", "go.sum"):
        (tmp_path / "etcd").mkdir(exist_ok=True)
        (tmp_path / "etcd" / name).write_text("module x\n")
    monkeypatch.setattr(gobuild, "GOMOD_DIR", tmp_path)
    group = gobuild.GROUPS["etcd"]
    before = gobuild.cache_path(tmp_path / "cache", group)

    (tmp_path / "etcd" / "go.sum").write_text("changed\n")

    assert gobuild.cache_path(tmp_path / "cache", group) != before
    assert before.name.startswith(f"etcd-{versions.ETCD}-")


def _fake_go(folder: pathlib.Path, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    go.write_text("#!/bin/sh\n" + script)
    go.chmod(go.stat().st_mode | stat.S_IEXEC)


def test_missing_go_is_a_clear_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(errors.ToolchainMissingError) as missing:
        gobuild.find_go("1.26.0")

    assert "not on PATH" in missing.value.message
    assert missing.value.hint is not None
    assert "KUBEBUILDER_ASSETS" in missing.value.hint


def test_old_go_is_a_clear_error(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_go(tmp_path, "echo go1.20.3\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")

    with pytest.raises(errors.ToolchainMissingError, match=r"1\.26\.0 or newer.*go1\.20\.3"):
        gobuild.find_go("1.26.0")


def test_failed_build_names_its_log(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_go(
        tmp_path / "bin",
        'case "$1" in\n'
        "  env) echo go1.99.0 ;;\n"
        "  list) exit 0 ;;\n"
        '  build) echo "cannot find module providing package x: proxy unreachable" >&2;'
        " exit 1 ;;\n"
        "esac\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
    cache = tmp_path / "cache"

    with pytest.raises(errors.BinaryBuildError) as failed:
        gobuild.build(gobuild.GROUPS["etcd"], cache)

    log = cache / "logs" / f"build-etcd-{versions.ETCD}.log"
    assert str(log) in failed.value.message
    assert "proxy unreachable" in log.read_text()
    assert "proxy unreachable" in failed.value.message
    assert not (cache / "bin").exists() or not any((cache / "bin").iterdir())
