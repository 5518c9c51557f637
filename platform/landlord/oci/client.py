"""A client for the OCI distribution API, on connections to checked addresses only.

A registry is tenant-chosen, so it is treated like a chart repository
(:mod:`landlord.helm.download` is the model): every URL — the registry's own,
each redirect hop, each ``Link`` page and the Bearer token realm — passes
``check`` before a connection is opened, and the socket goes to the very
addresses ``check`` approved (:func:`landlord.git.pinned.connection`). A
watchdog closes the connection at the deadline, so a registry sending a byte
a minute cannot hold the call past ``timeout``. Every body is read in chunks
under a cap; a manifest's digest is always computed (and verified when asked
for by digest), a blob's size and digest always verified.

Authentication: a request goes out anonymously first; on 401 the
``WWW-Authenticate`` challenge says how: ``Basic`` (the credentials are then
sent with every request to the registry) or ``Bearer realm,service,scope``
(a token is fetched from the realm — with the Basic credentials, as Docker's
token spec says, after the realm passed ``check`` — and cached per scope for
the client's life). Credentials and tokens go to the registry's own scheme,
host and port only, never along a redirect to another host (a blob store).
No message holds a credential: URLs are shown without userinfo or query
(:func:`landlord.git.pinned.shown`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import re
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from landlord import errors
from landlord.git import network, pinned
from landlord.oci import reference

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
MAX_TOKEN_BYTES = 64 * 1024
MAX_TAGS_PAGE_BYTES = 4 * 1024**2
MAX_ERROR_BYTES = 8 * 1024
# A challenge or a Link header is a few hundred bytes; the registry's own text is
# parsed only up to this (http.client would hand over 100 joined 64 KiB lines).
MAX_HEADER_PARSED = 8 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*MANIFESTS, *INDEXES))
# The platform an index is resolved for: the operator's own.
PLATFORM = ("linux", "amd64")

# Decides one URL before it is fetched: the addresses to connect to (None: any,
# resolved by the system), or raises (policy denial, blocked address, bad URL).
Checker = Callable[[str], network.Resolution | None]

_REDIRECTS = (301, 302, 303, 307, 308)
# A parameter starts only where a word starts: no rescan from inside a long word.
_CHALLENGE_PARAM = re.compile(
    r'(?<![A-Za-z0-9_-])([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)'
)
_REL_NEXT = re.compile(r'rel\s*=\s*"?next"?', re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
_ERROR_CODE = re.compile(r"[A-Z][A-Z_]{0,63}")


class OciError(errors.RetryableError):
    """A registry call failed; ``reason`` says how, the message never holds credentials.

    Reasons: FetchFailed, AuthenticationFailed, ArtifactNotFound, ArtifactTooLarge,
    DigestMismatch, Timeout, TooManyTags, InvalidArtifact, InvalidSecret.
    """

    def __init__(self, message: str, *, reason: str = "FetchFailed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """What a registry is accessed with: Basic credentials, a CA, a client certificate."""

    username: str | None = None
    password: str | None = None
    ca_pem: bytes | None = None  # extra CA to trust (certSecretRef's ca.crt)
    cert_pem: bytes | None = None  # client certificate (certSecretRef's tls.crt/tls.key)
    key_pem: bytes | None = None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"

    @classmethod
    def from_secrets(
        cls,
        auth: Mapping[str, str] | None,
        certs: Mapping[str, str] | None,
        host: str,
    ) -> Credentials:
        """From the ``.data`` (base64) of ``spec.secretRef`` and ``spec.certSecretRef``.

        ``auth``: ``username`` and ``password``, or a ``.dockerconfigjson``
        whose entry for ``host`` is used. ``certs``: ``ca.crt``, and
        ``tls.crt`` with ``tls.key`` (both or neither).
        """
        username = password = None
        if auth:
            if ".dockerconfigjson" in auth:
                username, password = _docker_config(_decoded(auth, ".dockerconfigjson"), host)
            else:
                if "username" not in auth or "password" not in auth:
                    raise OciError(
                        "the registry Secret (spec.secretRef) has neither username and password "
                        "nor .dockerconfigjson",
                        reason="InvalidSecret",
                    )
                username = _decoded(auth, "username").decode("utf-8", "replace")
                password = _decoded(auth, "password").decode("utf-8", "replace")
        ca = cert = key = None
        if certs:
            ca = _decoded(certs, "ca.crt") if "ca.crt" in certs else None
            cert = _decoded(certs, "tls.crt") if "tls.crt" in certs else None
            key = _decoded(certs, "tls.key") if "tls.key" in certs else None
            if (cert is None) != (key is None):
                raise OciError(
                    "the certificate Secret (spec.certSecretRef) has only one of tls.crt and "
                    "tls.key; a client certificate needs both",
                    reason="InvalidSecret",
                )
            if ca is None and cert is None:
                raise OciError(
                    "the certificate Secret (spec.certSecretRef) has no ca.crt, tls.crt or tls.key",
                    reason="InvalidSecret",
                )
        if username is not None and ":" in username:
            raise OciError(
                "the registry Secret's username must not contain ':'", reason="InvalidSecret"
            )
        for value, what in ((username, "username"), (password, "password")):
            if value is not None and re.search(r"[\x00-\x1f\x7f]", value):
                raise OciError(
                    f"the registry Secret's {what} contains control characters",
                    reason="InvalidSecret",
                )
        return cls(username or None, password, ca, cert, key)

    def secret_values(self) -> list[str]:
        """Every value that must never be shown (for redaction)."""
        values = [self.password or ""]
        if self.username and self.password:
            pair = f"{self.username}:{self.password}".encode()
            values.append(base64.b64encode(pair).decode())
        if self.key_pem:
            values.append(self.key_pem.decode("utf-8", "replace"))
        return [value for value in values if value]


def _decoded(data: Mapping[str, str], key: str) -> bytes:
    try:
        return base64.b64decode(data[key], validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise OciError(f"the Secret's {key} is not valid base64", reason="InvalidSecret") from None


def _docker_config(raw: bytes, host: str) -> tuple[str | None, str | None]:
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise OciError(
            "the Secret's .dockerconfigjson is not valid JSON", reason="InvalidSecret"
        ) from None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        raise OciError("the Secret's .dockerconfigjson has no auths", reason="InvalidSecret")
    wanted = _registry_key(host)
    for key, entry in auths.items():
        if not isinstance(key, str) or _registry_key(key) != wanted:
            continue
        if not isinstance(entry, dict):
            break
        username, password = entry.get("username"), entry.get("password")
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                pair = base64.b64decode(entry["auth"], validate=True).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise OciError(
                    f"the Secret's .dockerconfigjson entry for {host} has an auth that is not "
                    "base64 of user:password",
                    reason="InvalidSecret",
                ) from None
            username, _, password = pair.partition(":")
        if isinstance(username, str) and isinstance(password, str):
            return username, password
        break
    raise OciError(
        f"the Secret's .dockerconfigjson has no username and password for {host}",
        reason="InvalidSecret",
    )


def _registry_key(key: str) -> str:
    """``https://index.docker.io/v1/`` and ``docker.io`` name the same registry."""
    key = key.strip().lower()
    key = key.split("://", 1)[1] if "://" in key else key
    key = key.split("/", 1)[0]
    key = key.removesuffix(":443")
    return reference.DOCKER_HUB if key in reference.DOCKER_HUB_ALIASES else key


@dataclasses.dataclass(frozen=True)
class Descriptor:
    """A blob or manifest as a manifest names it."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Manifest:
    """An image (or artifact) manifest."""

    digest: str  # sha256:… of the manifest bytes as fetched
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]


class Client:
    """One repository of one registry; every public call is bounded by ``timeout`` seconds."""

    def __init__(
        self,
        repository: reference.Repository,
        *,
        credentials: Credentials | None,
        check: Checker,
        timeout: float,
        max_manifest_bytes: int = 4 * 1024**2,
        insecure: bool = False,
        user_agent: str = "landlord",
        page_size: int = 1000,
    ) -> None:
        self.repository = repository
        self.credentials = credentials or Credentials()
        self.check = check
        self.timeout = timeout
        self.max_manifest_bytes = max_manifest_bytes
        self.insecure = insecure
        self.user_agent = user_agent
        self.page_size = page_size
        scheme = "http" if insecure else "https"
        # Docker Hub's API is not served at docker.io itself.
        host = repository.host
        if host == reference.DOCKER_HUB:
            host = "registry-1.docker.io"
        self.base = f"{scheme}://{host}"
        home = urllib.parse.urlsplit(self.base)
        self._home = (home.scheme, home.hostname, home.port or pinned.default_port(home.scheme))
        self._tokens: dict[str, str] = {}
        self._basic = False
        self._context: ssl.SSLContext | None = None

    # -- the API ---------------------------------------------------------------------

    def tags(self, *, limit: int) -> list[str]:
        """Every tag (following ``Link`` pages); TooManyTags past ``limit``."""
        deadline = time.monotonic() + self.timeout
        url: str | None = self._url(f"tags/list?n={self.page_size}")
        found: list[str] = []
        seen: set[str] = set()
        pages = 0
        while url is not None:
            pages += 1
            if pages > limit + 1:
                raise OciError(
                    f"{self._shown()} lists tags in more than {limit + 1} pages",
                    reason="TooManyTags",
                )
            with self._open("GET", url, scope="pull", deadline=deadline) as (response, current):
                self._expect(response, current, 200, what="the tag list")
                body = self._read(response, MAX_TAGS_PAGE_BYTES, deadline, current)
                link = response.getheader("Link")
            try:
                document = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise OciError(
                    f"{self._shown()} answered a tag list that is not JSON",
                    reason="InvalidArtifact",
                ) from None
            tags = document.get("tags") if isinstance(document, dict) else None
            if tags is not None and not isinstance(tags, list):
                raise OciError(
                    f"{self._shown()} answered a tag list without a list of tags",
                    reason="InvalidArtifact",
                )
            for tag in tags or []:
                # A registry cannot hold another spelling; a lying one is not believed.
                if isinstance(tag, str) and reference.valid_tag(tag) and tag not in seen:
                    seen.add(tag)
                    found.append(tag)
                    if len(found) > limit:
                        raise OciError(
                            f"{self._shown()} has more than {limit} tags",
                            reason="TooManyTags",
                        )
            url = self._next_page(link, current)
        return found

    def manifest(self, reference: str) -> Manifest:
        """The manifest of a tag or digest; an index resolves to its one linux/amd64 image."""
        deadline = time.monotonic() + self.timeout
        found = self._manifest(reference, deadline)
        if isinstance(found, Manifest):
            return found
        chosen = _platform_manifest(found, self._shown())
        found = self._manifest(chosen, deadline)
        if not isinstance(found, Manifest):
            raise OciError(
                f"{self._shown()}: the index's linux/amd64 entry is itself an index",
                reason="InvalidArtifact",
            )
        return found

    def fetch_blob(self, descriptor: Descriptor, sink: BinaryIO, *, max_bytes: int) -> None:
        """Stream a blob to ``sink``, checking its size and digest.

        On an error ``sink`` may hold part of the blob: the caller discards it.
        """
        if descriptor.size > max_bytes:
            raise OciError(
                f"{self._shown()}: the blob {descriptor.digest} is {descriptor.size} bytes; "
                f"the limit is {max_bytes}",
                reason="ArtifactTooLarge",
            )
        if descriptor.size < 0 or not reference.valid_digest(descriptor.digest):
            raise OciError(
                f"{self._shown()}: a blob descriptor has no valid digest and size",
                reason="InvalidArtifact",
            )
        deadline = time.monotonic() + self.timeout
        algorithm, _, expected = descriptor.digest.partition(":")
        hasher = hashlib.new(algorithm)
        url = self._url(f"blobs/{descriptor.digest}")
        with self._open("GET", url, scope="pull", deadline=deadline) as (response, current):
            self._expect(response, current, 200, what=f"the blob {descriptor.digest}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) != descriptor.size:
                raise OciError(
                    f"{self._shown()}: the blob {descriptor.digest} is {length} bytes, not the "
                    f"{descriptor.size} its descriptor says",
                    reason="DigestMismatch",
                )
            received = 0
            with self._guard(deadline, current):
                while True:
                    self._in_time(deadline)
                    chunk = response.read1(CHUNK)
                    if not chunk:
                        # The watchdog's shutdown reads as the end of the body.
                        self._in_time(deadline)
                        break
                    received += len(chunk)
                    if received > descriptor.size:
                        raise OciError(
                            f"{self._shown()}: the blob {descriptor.digest} is larger than the "
                            f"{descriptor.size} bytes its descriptor says",
                            reason="DigestMismatch",
                        )
                    hasher.update(chunk)
                    sink.write(chunk)
        if received != descriptor.size:
            raise OciError(
                f"{self._shown()}: the blob {descriptor.digest} ended after {received} of "
                f"{descriptor.size} bytes",
                reason="DigestMismatch",
            )
        if hasher.hexdigest() != expected:
            raise OciError(
                f"{self._shown()}: the blob's content does not match its digest "
                f"{descriptor.digest}",
                reason="DigestMismatch",
            )

    def push_blob(self, data: bytes, media_type: str) -> Descriptor:
        """Upload ``data`` (monolithic), unless the registry already has it."""
        deadline = time.monotonic() + self.timeout
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        descriptor = Descriptor(media_type, digest, len(data))
        url = self._url(f"blobs/{digest}")
        with self._open("HEAD", url, scope="pull,push", deadline=deadline) as (response, _):
            if response.status == 200:
                return descriptor
        with self._open(
            "POST",
            self._url("blobs/uploads/"),
            scope="pull,push",
            deadline=deadline,
            headers={"Content-Length": "0"},
            body=b"",
            redirects=False,
        ) as (response, current):
            self._expect(response, current, 202, what="the blob upload")
            location = response.getheader("Location")
        if not location:
            raise OciError(f"{self._shown()} started an upload without a Location")
        upload = urllib.parse.urljoin(current, location)
        if not self._own(upload):
            raise OciError(
                f"{self._shown()} wants the upload sent to another host "
                f"({pinned.shown(upload)}); only its own host gets the credentials"
            )
        upload += ("&" if urllib.parse.urlsplit(upload).query else "?") + urllib.parse.urlencode(
            {"digest": digest}
        )
        with self._open(
            "PUT",
            upload,
            scope="pull,push",
            deadline=deadline,
            headers={"Content-Type": "application/octet-stream"},
            body=data,
            redirects=False,
        ) as (response, current):
            self._expect(response, current, 201, what="the blob upload")
        return descriptor

    def push_manifest(self, body: bytes, media_type: str, tag: str) -> str:
        """PUT a manifest under ``tag``; returns its digest."""
        if not reference.valid_tag(tag):
            raise OciError(f"{tag!r} is not a valid tag", reason="InvalidArtifact")
        deadline = time.monotonic() + self.timeout
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        with self._open(
            "PUT",
            self._url(f"manifests/{tag}"),
            scope="pull,push",
            deadline=deadline,
            headers={"Content-Type": media_type},
            body=body,
            redirects=False,
        ) as (response, current):
            self._expect(response, current, 201, what="the manifest upload")
        return digest

    # -- manifests -------------------------------------------------------------------

    def _manifest(self, ref: str, deadline: float) -> Manifest | dict[str, Any]:
        """The manifest at ``ref``, or the document of the image index there."""
        by_digest = reference.valid_digest(ref)
        if not by_digest and not reference.valid_tag(ref):
            raise OciError(f"{ref!r} is neither a tag nor a digest", reason="InvalidArtifact")
        url = self._url(f"manifests/{ref}")
        with self._open(
            "GET", url, scope="pull", deadline=deadline, headers={"Accept": ACCEPT}
        ) as (response, current):
            self._expect(response, current, 200, what=f"the manifest {ref}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > self.max_manifest_bytes:
                raise OciError(
                    f"{self._shown()}: the manifest {ref} is {length} bytes; the limit is "
                    f"{self.max_manifest_bytes}",
                    reason="ArtifactTooLarge",
                )
            body = self._read(response, self.max_manifest_bytes, deadline, current)
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            claimed = response.getheader("Docker-Content-Digest")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if by_digest:
            algorithm, _, expected = ref.partition(":")
            if hashlib.new(algorithm, body).hexdigest() != expected:
                raise OciError(
                    f"{self._shown()}: the manifest fetched as {ref} does not match that digest",
                    reason="DigestMismatch",
                )
            digest = ref if algorithm == "sha256" else digest
        elif claimed and claimed.startswith("sha256:") and claimed != digest:
            raise OciError(
                f"{self._shown()}: the manifest of {ref} does not match the digest the registry "
                "claims for it",
                reason="DigestMismatch",
            )
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise OciError(
                f"{self._shown()}: the manifest {ref} is not a JSON object",
                reason="InvalidArtifact",
            )
        media_type = document.get("mediaType") or content_type
        if not isinstance(media_type, str):
            raise OciError(
                f"{self._shown()}: the manifest {ref} has a mediaType that is not a string",
                reason="InvalidArtifact",
            )
        if media_type in INDEXES or (not media_type and "manifests" in document):
            return document
        if media_type not in MANIFESTS and not (not media_type and "config" in document):
            raise OciError(
                f"{self._shown()}: {ref} is a {_printable(media_type)!r}, not an image or "
                "artifact manifest",
                reason="InvalidArtifact",
            )
        return _parse_manifest(document, digest, media_type or OCI_MANIFEST, self._shown())

    # -- HTTP ------------------------------------------------------------------------

    def _url(self, tail: str) -> str:
        return f"{self.base}/v2/{self.repository.path}/{tail}"

    def _shown(self) -> str:
        return self.repository.url

    def _own(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return (
            parts.scheme,
            parts.hostname,
            parts.port or pinned.default_port(parts.scheme),
        ) == self._home

    def _scope(self, actions: str) -> str:
        return f"repository:{self.repository.path}:{actions}"

    def _authorization(self, scope: str) -> str | None:
        token = self._tokens.get(scope)
        if token is not None:
            return f"Bearer {token}"
        if self._basic and self.credentials.username is not None:
            pair = f"{self.credentials.username}:{self.credentials.password or ''}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return None

    @contextlib.contextmanager
    def _open(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        deadline: float,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        redirects: bool = True,
    ) -> Iterator[tuple[http.client.HTTPResponse, str]]:
        """One API call: anonymous first, once more after a 401 challenge, redirects followed.

        Yields the final response (still open) and the URL it came from.
        """
        current = url
        challenged = False
        hops = 0
        scope = self._scope(scope)
        while True:
            sent = {"User-Agent": self.user_agent, **(headers or {})}
            own = self._own(current)
            authorization = self._authorization(scope) if own else None
            if authorization is not None:
                sent["Authorization"] = authorization
            with self._exchange(method, current, sent, body, deadline) as response:
                if response.status == 401 and own:
                    # A cached token may have expired: one fresh challenge per call.
                    if challenged or (authorization or "").startswith("Basic "):
                        raise OciError(
                            f"{self._shown()} refused the credentials (HTTP 401)",
                            reason="AuthenticationFailed",
                        )
                    challenge = response.getheader("WWW-Authenticate") or ""
                    challenged = True
                    self._authenticate(challenge, scope, deadline)
                    continue
                if response.status in _REDIRECTS and redirects and method in ("GET", "HEAD"):
                    hops += 1
                    location = response.getheader("Location")
                    if not location:
                        raise OciError(f"{pinned.shown(current)} redirected without a Location")
                    if hops > MAX_REDIRECTS:
                        raise OciError(
                            f"{pinned.shown(url)} redirected more than {MAX_REDIRECTS} times"
                        )
                    following = urllib.parse.urljoin(current, location)
                    scheme = urllib.parse.urlsplit(following).scheme
                    if scheme != "https" and not (scheme == "http" and self.insecure):
                        raise OciError(
                            f"{pinned.shown(current)} redirected to a {_printable(scheme)!r} URL; "
                            "only https is followed (http for an insecure registry)"
                        )
                    current = following
                    continue
                yield response, current
                return

    @contextlib.contextmanager
    def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
    ) -> Iterator[http.client.HTTPResponse]:
        """One request to a checked URL, on a pinned connection, under the watchdog."""
        self._in_time(deadline)
        resolution = self.check(url)
        parts = urllib.parse.urlsplit(url)
        try:
            connection = pinned.connection(
                parts, resolution, deadline, None, context=self._tls_context()
            )
        except (OSError, ValueError, ssl.SSLError) as error:
            raise OciError(
                "the certificate Secret's CA or client certificate cannot be used: "
                f"{pinned.why(error)}",
                reason="InvalidSecret",
            ) from None
        # Whatever the server does (a byte every few seconds, headers that never end),
        # the connection is closed at the deadline.
        watchdog = threading.Timer(
            max(0.0, deadline - time.monotonic()), pinned.shut, (connection,)
        )
        watchdog.daemon = True
        watchdog.start()
        try:
            with self._guard(deadline, url):
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                connection.request(method, target, body=body, headers=dict(headers))
                response = connection.getresponse()
            yield response
        finally:
            watchdog.cancel()
            connection.close()

    @contextlib.contextmanager
    def _guard(self, deadline: float, url: str) -> Iterator[None]:
        """Transport failures as OciError: Timeout past the deadline, else FetchFailed."""
        try:
            yield
        except (OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= deadline:
                raise OciError(
                    f"{pinned.shown(url)} took longer than the timeout ({self.timeout:g}s)",
                    reason="Timeout",
                ) from None
            raise OciError(
                f"{pinned.shown(url)} could not be fetched: {pinned.why(error)}"
            ) from None

    def _in_time(self, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise OciError(
                f"{self._shown()} took longer than the timeout ({self.timeout:g}s)",
                reason="Timeout",
            )

    def _read(
        self, response: http.client.HTTPResponse, cap: int, deadline: float, url: str
    ) -> bytes:
        chunks: list[bytes] = []
        size = 0
        with self._guard(deadline, url):
            while True:
                self._in_time(deadline)
                # What one receive brings: the deadline is checked often.
                chunk = response.read1(CHUNK)
                if not chunk:
                    # The watchdog's shutdown reads as the end of the body.
                    self._in_time(deadline)
                    return b"".join(chunks)
                size += len(chunk)
                if size > cap:
                    raise OciError(
                        f"{pinned.shown(url)} answered more than {cap} bytes",
                        reason="ArtifactTooLarge",
                    )
                chunks.append(chunk)

    def _expect(
        self, response: http.client.HTTPResponse, url: str, status: int, *, what: str
    ) -> None:
        if response.status == status:
            return
        code = self._error_code(response)
        detail = f" ({code})" if code else ""
        if response.status in (401, 403):
            raise OciError(
                f"{self._shown()} refused access to {what}: HTTP {response.status}{detail}",
                reason="AuthenticationFailed",
            )
        if response.status == 404:
            raise OciError(
                f"{self._shown()} has no {what.removeprefix('the ')}{detail}",
                reason="ArtifactNotFound",
            )
        if response.status in _REDIRECTS:
            raise OciError(
                f"{pinned.shown(url)} redirected {what} (HTTP {response.status}); not followed"
            )
        raise OciError(f"{pinned.shown(url)} answered HTTP {response.status} for {what}{detail}")

    def _error_code(self, response: http.client.HTTPResponse) -> str | None:
        """The registry's first error code (``MANIFEST_UNKNOWN``…), nothing it wrote freely."""
        try:
            body = response.read(MAX_ERROR_BYTES)
            document = json.loads(body)
            code = document["errors"][0]["code"]
        except Exception:  # noqa: BLE001 - an error body is a courtesy, never required
            return None
        if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
            return code
        return None

    def _next_page(self, link: str | None, current: str) -> str | None:
        if not link:
            return None
        if len(link) > MAX_HEADER_PARSED:
            raise OciError(
                f"{self._shown()} answered a Link header longer than {MAX_HEADER_PARSED} bytes; "
                "not followed",
                reason="InvalidArtifact",
            )
        target = _link_next(link)
        if target is None:
            return None
        following = urllib.parse.urljoin(current, target)
        if not self._own(following):
            raise OciError(
                f"{self._shown()} pages its tag list to another host "
                f"({pinned.shown(following)}); not followed"
            )
        return following

    # -- authentication --------------------------------------------------------------

    def _authenticate(self, challenge: str, scope: str, deadline: float) -> None:
        if len(challenge) > MAX_HEADER_PARSED:
            raise OciError(
                f"{self._shown()} answered a WWW-Authenticate challenge longer than "
                f"{MAX_HEADER_PARSED} bytes",
                reason="AuthenticationFailed",
            )
        kind, _, rest = challenge.strip().partition(" ")
        kind = kind.lower()
        params = {
            key.lower(): value[1:-1].replace('\\"', '"') if value.startswith('"') else value
            for key, value in _CHALLENGE_PARAM.findall(rest)
        }
        if kind == "basic":
            if self.credentials.username is None:
                raise OciError(
                    f"{self._shown()} requires credentials (spec.secretRef)",
                    reason="AuthenticationFailed",
                )
            if self._basic:
                raise OciError(
                    f"{self._shown()} refused the credentials (HTTP 401)",
                    reason="AuthenticationFailed",
                )
            self._basic = True
            return
        if kind != "bearer" or not params.get("realm"):
            raise OciError(
                f"{self._shown()} asked for authentication this client does not speak "
                f"({_printable(kind)!r})",
                reason="AuthenticationFailed",
            )
        self._tokens[scope] = self._token(params, scope, deadline)

    def _token(self, params: Mapping[str, str], scope: str, deadline: float) -> str:
        realm = params["realm"]
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise OciError(
                f"{self._shown()} named a token service that is not an http(s) URL",
                reason="AuthenticationFailed",
            )
        if parts.scheme == "http" and not self.insecure:
            raise OciError(
                f"{self._shown()} named a token service over plain http "
                f"({pinned.shown(realm)}); refused for a TLS registry",
                reason="AuthenticationFailed",
            )
        if parts.username is not None or parts.password is not None:
            raise OciError(
                f"{self._shown()} named a token service with credentials in its URL",
                reason="AuthenticationFailed",
            )
        query = urllib.parse.parse_qsl(parts.query)
        if params.get("service"):
            query.append(("service", params["service"]))
        query.append(("scope", scope))
        url = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path or "/", urllib.parse.urlencode(query), "")
        )
        headers = {"User-Agent": self.user_agent}
        if self.credentials.username is not None:
            # Docker's token spec: the realm authenticates the client; it passed check.
            pair = f"{self.credentials.username}:{self.credentials.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        with self._exchange("GET", url, headers, None, deadline) as response:
            if response.status in (401, 403):
                raise OciError(
                    f"the token service of {self._shown()} refused the credentials "
                    f"(HTTP {response.status})",
                    reason="AuthenticationFailed",
                )
            if response.status != 200:
                raise OciError(
                    f"the token service of {self._shown()} answered HTTP {response.status}",
                    reason="AuthenticationFailed",
                )
            body = self._read(response, MAX_TOKEN_BYTES, deadline, url)
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            document = None
        token = None
        if isinstance(document, dict):
            token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise OciError(
                f"the token service of {self._shown()} answered no usable token",
                reason="AuthenticationFailed",
            )
        return token

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.insecure:
            return None
        if self._context is None:
            context = ssl.create_default_context()
            if self.credentials.ca_pem:
                context.load_verify_locations(cadata=self.credentials.ca_pem.decode())
            if self.credentials.cert_pem and self.credentials.key_pem:
                _load_client_certificate(
                    context, self.credentials.cert_pem, self.credentials.key_pem
                )
            self._context = context
        return self._context


def _load_client_certificate(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl loads a key pair from files only: a private folder, removed at once.
    with tempfile.TemporaryDirectory(prefix="landlord-oci-") as folder:
        path = os.path.join(folder, "client.pem")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(cert.rstrip(b"\n") + b"\n" + key)
        context.load_cert_chain(path)


def _link_next(link: str) -> str | None:
    """The target of the ``rel="next"`` entry of a Link header, in one pass (no regex backtracking).

    Entries are ``<target>; param; param``, separated by commas; only the
    parameters between an entry's ``>`` and the next ``<`` are looked at.
    """
    position = 0
    while True:
        start = link.find("<", position)
        if start < 0:
            return None
        end = link.find(">", start + 1)
        if end < 0:
            return None
        following = link.find("<", end + 1)
        params = link[end + 1 : following if following >= 0 else len(link)].split(",", 1)[0]
        head, semicolon, rest = params.partition(";")
        if (
            semicolon
            and not head.strip()
            and any(_REL_NEXT.fullmatch(param.strip()) for param in rest.split(";"))
        ):
            return link[start + 1 : end]
        if following < 0:
            return None
        position = following


def _printable(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)[:100]


def _platform_manifest(index: Mapping[str, Any], shown: str) -> str:
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise OciError(f"{shown}: the image index has no manifests", reason="InvalidArtifact")
    matching = [
        entry
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("platform"), dict)
        and (entry["platform"].get("os"), entry["platform"].get("architecture")) == PLATFORM
    ]
    if len(matching) != 1 or not isinstance(matching[0].get("digest"), str):
        raise OciError(
            f"{shown} is an image index with {len(matching)} linux/amd64 manifests; "
            "exactly one is needed",
            reason="InvalidArtifact",
        )
    digest = matching[0]["digest"]
    if not reference.valid_digest(digest):
        raise OciError(
            f"{shown}: the image index names an invalid digest", reason="InvalidArtifact"
        )
    return str(digest)


def _parse_manifest(
    document: Mapping[str, Any], digest: str, media_type: str, shown: str
) -> Manifest:
    if document.get("schemaVersion") != 2:
        raise OciError(f"{shown}: the manifest is not schema version 2", reason="InvalidArtifact")
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise OciError(f"{shown}: the manifest has no list of layers", reason="InvalidArtifact")
    return Manifest(
        digest=digest,
        media_type=media_type,
        config=_descriptor(document.get("config"), shown),
        layers=tuple(_descriptor(layer, shown) for layer in layers),
        annotations=_annotations(document.get("annotations"), shown),
    )


def _descriptor(value: object, shown: str) -> Descriptor:
    if not isinstance(value, dict):
        raise OciError(f"{shown}: a manifest descriptor is not an object", reason="InvalidArtifact")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if (
        not isinstance(media_type, str)
        or not isinstance(digest, str)
        or not reference.valid_digest(digest)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
    ):
        raise OciError(
            f"{shown}: a manifest descriptor has no valid mediaType, digest and size",
            reason="InvalidArtifact",
        )
    return Descriptor(media_type, digest, size, _annotations(value.get("annotations"), shown))


def _annotations(value: object, shown: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise OciError(
            f"{shown}: the manifest's annotations are not a map of strings",
            reason="InvalidArtifact",
        )
    return dict(value)
