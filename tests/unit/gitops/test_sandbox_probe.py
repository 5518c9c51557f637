"""The sandbox probe: where bwrap cannot forbid nested user namespaces, it confines anyway."""

from __future__ import annotations

import pathlib
import stat

from landlord.gitops import sandbox


def _fake_bwrap(tmp_path: pathlib.Path, refuse: str) -> pathlib.Path:
    script = tmp_path / "bwrap"
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do [ "$a" = "{refuse}" ] && '
        f'{{ echo "bwrap: refused {refuse}" >&2; exit 1; }}; done\n'
        "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_in_a_container_without_disable_userns_the_sandbox_still_confines(
    tmp_path: pathlib.Path,
) -> None:
    # bwrap --disable-userns writes /proc/sys, which a container mounts read-only.
    box = sandbox.Sandbox(bwrap=_fake_bwrap(tmp_path, "--disable-userns"))

    assert box.unavailable() is None
    assert not box.no_nested_userns
    _, args, _, _ = box.command(["true"], binds=[], cwd="/", env={}, limits=box.limits)
    assert "--disable-userns" not in args
    assert "--unshare-all" in args


def test_where_it_can_nested_user_namespaces_are_forbidden(tmp_path: pathlib.Path) -> None:
    box = sandbox.Sandbox(bwrap=_fake_bwrap(tmp_path, "--never-given"))

    assert box.unavailable() is None
    _, args, _, _ = box.command(["true"], binds=[], cwd="/", env={}, limits=box.limits)
    assert "--disable-userns" in args


def test_where_namespaces_fail_altogether_builds_are_refused(tmp_path: pathlib.Path) -> None:
    box = sandbox.Sandbox(bwrap=_fake_bwrap(tmp_path, "--unshare-all"))

    why = box.unavailable()

    assert why is not None
    assert "cannot create namespaces" in why
