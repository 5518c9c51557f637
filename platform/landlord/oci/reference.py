"""OCI repository references, one spelling per repository.

A tenant writes ``oci://registry.example.com/team/app`` (an OCIRepository's
``spec.url``) or ``registry.example.com/team/app`` (an ImageRepository's
``spec.image``). Both become a :class:`Repository` whose :attr:`Repository.url`
is the one spelling the policy's ``source`` point decides on, so a deny line
cannot be walked around by writing the same registry differently
(``OCI://Registry.Example.COM.:443/team/app`` is
``oci://registry.example.com/team/app``). The host is normalised like a Git
source's (:func:`landlord.git.urls.normalise`: lower case, no trailing dot,
punycode, dotted-quad IPv4, compressed IPv6, no default port); the path must
match the distribution spec's repository name grammar, which already refuses
``..``, upper case, escapes and empty segments.
"""

from __future__ import annotations

import dataclasses
import re

from landlord.git import urls

SCHEME = "oci"
DEFAULT_PORT = 443
# Docker Hub: short names ("nginx", "team/app") live there, under library/ when alone.
DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# The distribution spec's <name> grammar (one path component), and its tag grammar.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}")
MAX_NAME = 255
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


class InvalidReferenceError(ValueError):
    """A repository reference can never work as written."""


@dataclasses.dataclass(frozen=True)
class Repository:
    """A repository in a registry: ``host`` (port kept when not 443) and ``path``."""

    host: str  # "registry.example.com", "127.0.0.1:5000", "[::1]:5000"
    path: str  # "team/app"

    @property
    def url(self) -> str:
        """``oci://<host>/<path>``: what the policy decides on and status shows."""
        return f"{SCHEME}://{self.host}/{self.path}"

    @property
    def hostname(self) -> str:
        """The host without its port (an IPv6 literal without brackets)."""
        if self.host.startswith("["):
            return self.host[1:].partition("]")[0]
        return self.host.partition(":")[0]

    @property
    def port(self) -> int:
        """The port connected to (443 unless given)."""
        rest = self.host.rpartition("]")[2] if self.host.startswith("[") else self.host
        _, colon, port = rest.partition(":")
        return int(port) if colon else DEFAULT_PORT

    @property
    def name(self) -> str:
        """``host/path``, as an image is named (no scheme)."""
        return f"{self.host}/{self.path}"

    @classmethod
    def parse(cls, url: str) -> Repository:
        """``oci://host[:port]/path``; no userinfo, query, fragment, tag or digest."""
        _plain(url)
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() != SCHEME:
            raise InvalidReferenceError(
                f"an OCI repository URL starts with oci:// (got {_shown(url)!r})"
            )
        return cls._split(rest, what="the OCI repository URL")

    @classmethod
    def image(cls, name: str) -> Repository:
        """An image name without scheme (``host[:port]/path``), Docker Hub short names included.

        ``nginx`` is ``docker.io/library/nginx``, ``team/app`` is
        ``docker.io/team/app``: a first component is a host only when it has a
        dot or a port, or is ``localhost``. No tag or digest.
        """
        _plain(name)
        if "://" in name:
            raise InvalidReferenceError(
                f"an image name has no scheme (got {_shown(name)!r}); write host/path"
            )
        first, slash, _ = name.partition("/")
        if not slash or not (
            "." in first or ":" in first or first == "localhost" or first.startswith("[")
        ):
            name = f"{DOCKER_HUB}/{name}" if slash else f"{DOCKER_HUB}/library/{name}"
        repository = cls._split(name, what="the image name")
        if repository.host in DOCKER_HUB_ALIASES:
            path = repository.path if "/" in repository.path else f"library/{repository.path}"
            return cls(DOCKER_HUB, path)
        return repository

    @classmethod
    def _split(cls, rest: str, *, what: str) -> Repository:
        hostport, slash, path = rest.partition("/")
        if not slash or not path:
            raise InvalidReferenceError(f"{what} names no repository: {_shown(rest)!r}")
        if "@" in hostport:
            raise InvalidReferenceError(
                f"{what} must not carry credentials; use a Secret (spec.secretRef)"
            )
        if "@" in path:
            raise InvalidReferenceError(
                f"{what} must not carry a digest; use spec.ref.digest ({_shown(rest)!r})"
            )
        if ":" in path:
            raise InvalidReferenceError(
                f"{what} must not carry a tag; use spec.ref.tag ({_shown(rest)!r})"
            )
        if hostport.endswith(":"):
            raise InvalidReferenceError(f"{what}'s port is not valid: it is empty")
        try:
            source = urls.normalise(f"https://{hostport}/")
        except urls.InvalidSourceError as error:
            message = str(error).replace("the source URL", f"{what}")
            raise InvalidReferenceError(message) from None
        for component in path.split("/"):
            if not _COMPONENT.fullmatch(component):
                raise InvalidReferenceError(
                    f"{what}'s repository path {path!r} is not valid: each part is lower-case "
                    "letters and digits, separated by '.', '_', '__' or '-'"
                )
        if len(source.netloc) + 1 + len(path) > MAX_NAME:
            raise InvalidReferenceError(f"{what} is longer than {MAX_NAME} characters")
        return cls(source.netloc, path)


def split_tag(image: str) -> tuple[str, str | None]:
    """``host/app:1.2`` → ``("host/app", "1.2")``; a port is not a tag, a digest is dropped."""
    name = image.partition("@")[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def valid_tag(tag: str) -> bool:
    """A tag the distribution spec allows (what a registry may hold)."""
    return TAG.fullmatch(tag) is not None


def valid_digest(digest: str) -> bool:
    return DIGEST.fullmatch(digest) is not None


def _plain(text: str) -> None:
    if _CONTROL.search(text) or "\\" in text:
        raise InvalidReferenceError(
            "an OCI reference must not contain whitespace, control characters or backslashes"
        )
    if "?" in text or "#" in text:
        raise InvalidReferenceError(f"an OCI reference has no query or fragment: {_shown(text)!r}")


def _shown(text: str) -> str:
    """``text`` without userinfo, for messages."""
    text = text.split("?")[0].split("#")[0]
    scheme, sep, rest = text.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"
