"""The application tree of Landlord's image: locked dependencies, the wheel, kustomize, helm, sops.

Everything is installed by this machine's pip into a staging folder laid out as
the image's root (``/opt/landlord/lib``, ``/opt/landlord/bin``,
``/usr/local/bin/landlord``), with file modes and times normalized and bytecode
compiled in ``unchecked-hash`` mode, so the same inputs give the same bytes.
"""

from __future__ import annotations

import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence

from landlord.cluster.images import buildah, debian

PREFIX = "/opt/landlord"
LIB = f"{PREFIX}/lib"
BIN = f"{PREFIX}/bin"
WRAPPER = "/usr/local/bin/landlord"
# Debian bookworm's glibc is 2.36: wheels must not need a newer one.
GLIBC_MINOR = 36


def entry_point(wheel: pathlib.Path, script: str = "landlord") -> str:
    """The ``module:function`` the wheel's ``script`` console script runs."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(names[0]).decode() if names else ""
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "console_scripts" and "=" in line:
            name, _, target = line.partition("=")
            if name.strip() == script:
                return target.strip()
    raise buildah.ImageBuildError(f"{wheel.name} has no `{script}` console script")


def wrapper_script(target: str) -> str:
    """``/usr/local/bin/landlord``: what pip writes for a console script, for Debian's python3."""
    module, _, function = target.partition(":")
    return (
        "#!/usr/bin/python3\n"
        "import sys\n"
        f"from {module} import {function}\n"
        'if __name__ == "__main__":\n'
        '    sys.argv[0] = "landlord"\n'
        f"    sys.exit({function}())\n"
    )


def check_host_python() -> None:
    """The wheels pip picks must import under the image's python3: same ``major.minor``."""
    host = ".".join(str(part) for part in sys.version_info[:2])
    if host != debian.PYTHON:
        raise buildah.ImageBuildError(
            f"this Python is {host}; Landlord's image runs Debian {debian.SUITE}'s "
            f"python3 {debian.PYTHON}, and its wheels are installed by this Python's pip",
            hint=f"run `make image` with a Python {debian.PYTHON} virtualenv "
            f"(PYTHON=python{debian.PYTHON})",
        )


def _pip(args: Sequence[str], log: pathlib.Path) -> None:
    argv = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    with log.open("a") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise buildah.ImageBuildError(f"pip install failed (exit {done.returncode}): {tail}")


def _platform_args() -> list[str]:
    """Wheels for the image's glibc and Python, whatever this machine's (pip lists each tag)."""
    abi = f"cp{debian.PYTHON.replace('.', '')}"
    arch = platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 4, -1)]
    tags += [f"manylinux{legacy}_{arch}" for legacy in ("2014", "2010", "1")]
    return [
        *(arg for tag in tags for arg in ("--platform", tag)),
        "--python-version",
        debian.PYTHON,
        "--implementation",
        "cp",
        "--abi",
        abi,
    ]


def install(
    staging: pathlib.Path,
    *,
    lock: pathlib.Path,
    wheel: pathlib.Path,
    kustomize: pathlib.Path,
    log: pathlib.Path,
    helm: pathlib.Path | None = None,
    sops: pathlib.Path | None = None,
) -> None:
    """Lay out the application under ``staging`` (the image's root)."""
    check_host_python()
    lib = staging / LIB.lstrip("/")
    common = ["install", "--no-deps", "--no-compile", "--only-binary", ":all:"]
    common += [*_platform_args(), "--target", str(lib)]
    _pip([*common, "--require-hashes", "-r", str(lock)], log)
    _pip([*common, "--no-index", str(wheel)], log)
    # Console scripts in lib/bin name the host's Python; the wrapper below replaces them.
    shutil.rmtree(lib / "bin", ignore_errors=True)
    _drop_direct_urls(lib)
    _compile(lib, log)
    tools = staging / BIN.lstrip("/")
    tools.mkdir(parents=True)
    for name, binary in (("kustomize", kustomize), ("helm", helm), ("sops", sops)):
        if binary is None:
            continue
        shutil.copyfile(binary, tools / name)
        (tools / name).chmod(0o755)
    script = staging / WRAPPER.lstrip("/")
    script.parent.mkdir(parents=True)
    script.write_text(wrapper_script(entry_point(wheel)))
    script.chmod(0o755)
    normalize(staging)


def _drop_direct_urls(lib: pathlib.Path) -> None:
    # pip records the wheel's (temporary) path; the image must not depend on it.
    for record in lib.glob("*.dist-info/direct_url.json"):
        record.unlink()
        listing = record.with_name("RECORD")
        if listing.is_file():
            kept = [
                line
                for line in listing.read_text().splitlines()
                if not line.split(",", 1)[0].endswith("/direct_url.json")
            ]
            listing.write_text("\n".join(kept) + "\n")


def _compile(lib: pathlib.Path, log: pathlib.Path) -> None:
    """Bytecode that never checks source times: the image's root is read-only."""
    argv = [sys.executable, "-m", "compileall", "-q", "-j", "1"]
    argv += ["--invalidation-mode", "unchecked-hash", "-s", str(lib), "-p", LIB, str(lib)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "PYTHONHASHSEED": "0"}
    with log.open("a") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if done.returncode != 0:
        # Some packages ship files that are not Python 3.11 (templates, tests): not fatal.
        out_text = log.read_text(errors="replace")
        if "SyntaxError" not in out_text:
            raise buildah.ImageBuildError(f"compileall failed (exit {done.returncode})")


def normalize(root: pathlib.Path) -> None:
    """Modes 0755/0644 and time 0 everywhere: the umask and the clock must not matter."""
    for folder, dirs, files in os.walk(root):
        base = pathlib.Path(folder)
        base.chmod(0o755)
        for name in files:
            path = base / name
            if path.is_symlink():
                os.utime(path, (0, 0), follow_symlinks=False)
                continue
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
            os.utime(path, (0, 0))
        for name in dirs:
            if (base / name).is_symlink():
                os.utime(base / name, (0, 0), follow_symlinks=False)
    for folder, _dirs, _files in os.walk(root, topdown=False):
        os.utime(folder, (0, 0))


def project_root() -> pathlib.Path | None:
    """The checkout this ``landlord`` runs from (an editable install), if any."""
    root = pathlib.Path(__file__).resolve().parents[4]
    return root if (root / "pyproject.toml").is_file() and (root / "platform").is_dir() else None


def build_wheel(root: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """Landlord's wheel from the checkout at ``root``, built offline and reproducibly.

    Only ``pyproject.toml``, ``README.md`` and ``platform/`` are copied (no stale
    ``build/``), and ``SOURCE_DATE_EPOCH`` fixes the archive's times, so an
    unchanged checkout gives the same wheel, and a warm image build hits the cache.
    """
    with tempfile.TemporaryDirectory(prefix="landlord-wheel-") as scratch:
        source = pathlib.Path(scratch) / "source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, source / name)
        shutil.copytree(
            root / "platform",
            source / "platform",
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
        out.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
        argv += ["--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(source)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # zip's earliest: 1980-01-01
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise buildah.ImageBuildError(
                f"building Landlord's wheel failed: {(done.stderr or done.stdout)[-2000:]}"
            )
    wheels = sorted(out.glob("landlord-*.whl"))
    if not wheels:
        raise buildah.ImageBuildError(f"pip wheel wrote no landlord wheel into {out}")
    return wheels[-1]
