"""Which revision a source follows: branch, tag, semver range or commit, validated."""

from __future__ import annotations

import dataclasses
import re

from landlord.api import gitrepository
from landlord.git.urls import InvalidSourceError

_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def check_ref_name(name: str, what: str) -> str:
    """Enforce ``git check-ref-format`` rules (and refuse option-looking names)."""
    problems = []
    if not name:
        problems.append("is empty")
    if name.startswith("-"):
        problems.append("starts with '-'")
    if _BAD_REF_CHARS.search(name):
        problems.append("contains a space, control character or one of ~^:?*[\\")
    if ".." in name or "@{" in name or "//" in name:
        problems.append("contains '..', '@{' or '//'")
    if name.startswith("/") or name.endswith(("/", ".", ".lock")) or name == "@":
        problems.append("starts with '/', ends with '/', '.' or '.lock', or is '@'")
    if any(part.startswith(".") for part in name.split("/")):
        problems.append("has a component starting with '.'")
    if problems:
        raise InvalidSourceError(f"{what} {name!r} is not a valid Git ref: {'; '.join(problems)}")
    return name


@dataclasses.dataclass(frozen=True)
class Ref:
    """The validated ``spec.ref``: exactly one way of choosing a revision."""

    branch: str | None = None
    tag: str | None = None
    semver: str | None = None
    commit: str | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, str] | None) -> Ref:
        """Validate ``spec.ref``; no ref at all means the default branch (``main``)."""
        spec = {key: value for key, value in (spec or {}).items() if value}
        unknown = set(spec) - {"branch", "tag", "semver", "commit"}
        if unknown:
            raise InvalidSourceError(f"unknown ref field(s): {', '.join(sorted(unknown))}")
        if not spec:
            return cls(branch=gitrepository.DEFAULT_BRANCH)
        # Flux's precedence when several are set: commit > semver > tag > branch.
        if "commit" in spec:
            commit = spec["commit"].lower()
            if not _COMMIT.match(commit):
                raise InvalidSourceError(
                    f"ref.commit {spec['commit']!r} must be a full 40-character SHA-1"
                )
            branch = spec.get("branch")
            return cls(
                commit=commit, branch=check_ref_name(branch, "ref.branch") if branch else None
            )
        if "semver" in spec:
            from landlord.gitops import semver

            try:
                semver.Range.parse(spec["semver"])
            except semver.RangeError as error:
                raise InvalidSourceError(str(error)) from None
            return cls(semver=spec["semver"])
        if "tag" in spec:
            return cls(tag=check_ref_name(spec["tag"], "ref.tag"))
        return cls(branch=check_ref_name(spec["branch"], "ref.branch"))

    def revision(self, sha: str, *, tag: str | None = None) -> str:
        """Flux's revision string: ``main@sha1:<sha>``, ``v1.2.0@sha1:<sha>``, ``sha1:<sha>``."""
        name = tag or self.tag or self.branch
        if self.commit and not self.branch:
            return f"sha1:{sha}"
        return f"{name}@sha1:{sha}"
