"""Landlord's image: name, labels, environment, user and wrapper follow from its inputs."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

from landlord.cluster.images import app, buildah, landlord

INPUTS = {
    "base": "debian-bookworm-0123456789ab.oci.tar",
    "packages": ["git=1:2.39.5-0+deb12u3", "python3=3.11.2-1+b1"],
    "lock": b"click==8.1.7 --hash=sha256:aa\n",
    "wheel": b"PK\x03\x04 landlord wheel",
    "kustomize": b"\x7fELF kustomize",
    "helm": b"\x7fELF helm",
    "sops": b"\x7fELF sops",
}


def _digest(**changes: object) -> str:
    return landlord.inputs_digest(**{**INPUTS, **changes})  # type: ignore[arg-type]


def test_the_inputs_digest_is_stable_for_the_same_inputs() -> None:
    assert _digest() == _digest()
    assert re.fullmatch(r"[0-9a-f]{64}", _digest())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lock", b"click==8.1.8 --hash=sha256:bb\n"),
        ("wheel", b"PK\x03\x04 another landlord wheel"),
        ("kustomize", b"\x7fELF another kustomize"),
        ("helm", b"\x7fELF another helm"),
        ("sops", b"\x7fELF another sops"),
        ("packages", ["git=1:2.39.5-0+deb12u4", "python3=3.11.2-1+b1"]),
        ("base", "debian-bookworm-ba9876543210.oci.tar"),
    ],
)
def test_the_inputs_digest_changes_with_every_input(field: str, value: object) -> None:
    assert _digest(**{field: value}) != _digest()


def test_fields_cannot_run_into_each_other() -> None:
    assert _digest(lock=b"ab", wheel=b"c") != _digest(lock=b"a", wheel=b"bc")


def test_the_name_is_fully_qualified_and_says_version_and_inputs() -> None:
    name = landlord.image_name("0.1.0", _digest())
    assert name == f"localhost/landlord/landlord:0.1.0-{_digest()[:12]}"


def test_the_version_comes_from_the_wheel_name() -> None:
    assert landlord.wheel_version(pathlib.Path("landlord-0.1.0-py3-none-any.whl")) == "0.1.0"
    with pytest.raises(buildah.ImageBuildError, match="not a Landlord wheel"):
        landlord.wheel_version(pathlib.Path("requests-2.0-py3-none-any.whl"))


def test_labels_record_versions_and_packages_without_times_or_hosts() -> None:
    labels = landlord.labels("0.1.0", reversed(INPUTS["packages"]), _digest())  # type: ignore[call-overload]
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["dev.landlord.debian.suite"] == "bookworm"
    assert labels["dev.landlord.debian.packages"] == ("git=1:2.39.5-0+deb12u3 python3=3.11.2-1+b1")
    assert labels["dev.landlord.inputs"] == f"sha256:{_digest()}"
    assert "org.opencontainers.image.created" not in labels
    assert "org.opencontainers.image.source" not in labels
    assert not any("://" in value for value in labels.values())


def test_the_environment_points_at_the_code_and_kustomize() -> None:
    env = landlord.environment()
    assert env["LANDLORD_CLUSTER__ASSETS_DIR"] == "/opt/landlord/bin"
    assert env["PYTHONPATH"] == "/opt/landlord/lib"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] == "/home/landlord"


def test_the_user_is_added_once_with_a_fixed_uid() -> None:
    files = {
        "passwd": "root:x:0:0:root:/root:/bin/bash\n",
        "group": "root:x:0:\n",
        "shadow": "root:*::0:99999:7:::\n",
        "gshadow": "root:*::\n",
    }
    once = landlord.add_user(files)
    assert once == landlord.add_user(once)
    assert once["passwd"].splitlines() == [
        "root:x:0:0:root:/root:/bin/bash",
        "landlord:x:65532:65532:Landlord:/home/landlord:/usr/sbin/nologin",
    ]
    assert once["group"].endswith("landlord:x:65532:\n")
    assert once["shadow"].endswith("landlord:*::0:99999:7:::\n")


def _wheel(tmp_path: pathlib.Path, entry_points: str) -> pathlib.Path:
    path = tmp_path / "landlord-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("landlord-0.1.0.dist-info/entry_points.txt", entry_points)
    return path


def test_the_wrapper_runs_the_wheels_console_script(tmp_path: pathlib.Path) -> None:
    wheel = _wheel(tmp_path, "[console_scripts]\nother = x:y\nlandlord = fake.cli:main\n")
    target = app.entry_point(wheel)
    assert target == "fake.cli:main"
    script = app.wrapper_script(target)
    assert script.startswith("#!/usr/bin/python3\n")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "__init__.py").write_text("")
    (tmp_path / "fake" / "cli.py").write_text(
        "import sys\ndef main():\n    print(sys.argv)\n    return 3\n"
    )
    (tmp_path / "landlord").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "landlord"), "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        check=False,
    )
    assert (done.returncode, done.stdout) == (3, "['landlord', '--version']\n")


def test_a_wheel_without_the_script_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(buildah.ImageBuildError, match="no `landlord` console script"):
        app.entry_point(_wheel(tmp_path, "[gui_scripts]\nlandlord = x:y\n"))


def test_another_python_than_bookworms_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 0, "final", 0))
    with pytest.raises(buildah.ImageBuildError, match=r"this Python is 3\.12"):
        app.check_host_python()


def test_normalize_fixes_modes_and_times(tmp_path: pathlib.Path) -> None:
    (tmp_path / "lib").mkdir(mode=0o700)
    (tmp_path / "lib" / "module.py").write_text("")
    (tmp_path / "lib" / "module.py").chmod(0o600)
    (tmp_path / "lib" / "tool").write_text("")
    (tmp_path / "lib" / "tool").chmod(0o700)
    (tmp_path / "lib" / "link").symlink_to("module.py")
    app.normalize(tmp_path)
    modes = {p.name: (p.lstat().st_mode & 0o777, p.lstat().st_mtime) for p in tmp_path.rglob("*")}
    assert modes == {
        "lib": (0o755, 0),
        "module.py": (0o644, 0),
        "tool": (0o755, 0),
        "link": (0o777, 0),
    }


def test_prune_keeps_the_newest_archives_and_the_one_just_built(tmp_path: pathlib.Path) -> None:
    paths = [tmp_path / f"landlord-0.1.0-{index:012d}.oci.tar" for index in range(5)]
    for when, path in enumerate(paths):
        path.write_text("")
        os.utime(path, (when, when))
    (tmp_path / "debian-bookworm-0123456789ab.oci.tar").write_text("")
    removed = landlord.prune(tmp_path, keep=paths[0], count=3)
    assert sorted(removed) == paths[1:3]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [paths[0].name, paths[3].name, paths[4].name, "debian-bookworm-0123456789ab.oci.tar"]
    )
