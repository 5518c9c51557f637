"""The built wheel is complete: installed alone (not editable), it can ``landlord install``.

The wheel is built from a copy of only ``pyproject.toml``, ``README.md`` and
``platform/``, so nothing outside the package can leak into it, and installed
into a fresh virtualenv without its dependencies. Those are the project
virtualenv's, appended to the new one's path by a ``.pth`` line: after the
wheel's own site-packages, so ``landlord`` is the wheel's copy and never the
checkout's (the project's editable ``.pth`` is not read from there). Nothing is
downloaded.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from importlib import metadata

import pytest
import yaml

from landlord import kube

ROOT = pathlib.Path(__file__).parents[2]
SHIPPED_CRDS = sorted(path.name for path in (ROOT / "crds").glob("*.yaml"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Landlord's wheel, built offline with the project virtualenv's (locked) setuptools."""
    if int(metadata.version("setuptools").split(".")[0]) < 77:
        pytest.fail("this virtualenv's setuptools predates requirements/lock.txt: run `make venv`")
    source = tmp_path_factory.mktemp("source")
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    shutil.copytree(
        ROOT / "platform",
        source / "platform",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("landlord-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A fresh virtualenv holding the wheel; its ``bin`` folder."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-index",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = sysconfig.get_paths()["purelib"]  # the project virtualenv's
    (pathlib.Path(purelib) / "project-dependencies.pth").write_text(dependencies + "\n")
    return root / "bin"


def _environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return {**env, **extra}


def test_the_wheel_carries_the_crds_and_the_default_policy(wheel: pathlib.Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert SHIPPED_CRDS, "the checkout has no CRDs to compare with"
    for crd in SHIPPED_CRDS:
        assert f"landlord/api/crds/{crd}" in names
    assert "landlord/policy/defaults/model.conf" in names
    assert "landlord/policy/defaults/policy.csv" in names


def test_the_installed_package_is_the_wheel_and_reads_its_own_data(
    installed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    script = (
        "import landlord\n"
        "from landlord.api import crds\n"
        "from landlord.policy import engine\n"
        "print(landlord.__file__)\n"
        "print(len(crds.load()))\n"
        "print(engine.Policy.from_directory(engine.DEFAULTS).lines)\n"
    )
    result = subprocess.run(
        [str(installed / "python"), "-c", script],
        cwd=tmp_path,
        env=_environment(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where, crd_count, policy_lines = result.stdout.split()
    assert pathlib.Path(where).is_relative_to(installed.parent), where
    assert not pathlib.Path(where).resolve().is_relative_to(ROOT.resolve())
    assert int(crd_count) == len(SHIPPED_CRDS)
    assert int(policy_lines) > 0


def test_landlord_install_from_the_wheel_applies_the_crds(
    installed: pathlib.Path, control_plane: pathlib.Path, admin: kube.Kube, tmp_path: pathlib.Path
) -> None:
    result = subprocess.run(
        [str(installed / "landlord"), "install"],
        cwd=tmp_path,
        env=_environment(KUBECONFIG=str(control_plane)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        name = next(yaml.safe_load_all(path.read_text()))["metadata"]["name"]
        assert f"applied CustomResourceDefinition {name}" in result.stdout
        served = admin.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        assert served is not None, name
