"""The lock still fits pyproject.toml: a dependency added without `make lock` fails here.

The Makefile installs the lock and then Landlord with ``--no-deps``, so a
requirement missing from the lock would otherwise surface only as an import
error somewhere later.
"""

from __future__ import annotations

import pathlib
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements" / "lock.txt").read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def _required() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    build = (ROOT / "requirements" / "build.in").read_text().splitlines()
    specs += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(spec) for spec in specs]


def test_every_requirement_is_locked_at_a_version_it_accepts() -> None:
    locked = _locked()
    stale = [
        str(requirement)
        for requirement in _required()
        if not requirement.specifier.contains(
            locked.get(canonicalize_name(requirement.name), "0.dev0"), prereleases=True
        )
        or canonicalize_name(requirement.name) not in locked
    ]
    assert not stale, f"run `make lock`: {stale} are missing from or not met by the lock"


def test_every_locked_package_carries_hashes() -> None:
    text = (ROOT / "requirements" / "lock.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert entries
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
