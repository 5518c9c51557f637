"""The OCI fetch step: check the URL and the policy, resolve the ref, pull only when it moved.

The order is the guarantee: the spec's refusals (provider, verify, insecure),
then the URL in its one spelling, then the policy's ``source`` decision on it,
all before any request; every URL the client then asks for (the registry, a
token realm, a redirect) passes :meth:`OciFetcher.checker` before it connects.
An unchanged manifest digest costs one manifest request and no download. A
layer over the platform's cap is refused from its descriptor, before a byte
of it is read; what it extracts to meets the same caps and path rules as a
Git artifact (:class:`landlord.gitops.artifacts.ArtifactStore`). Every failure
keeps the last artifact, and no credential reaches a message.
"""

from __future__ import annotations

import gzip
import io
import logging
import pathlib
import re
import tarfile
import tempfile
import time
import urllib.parse
import zlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import re2  # type: ignore[import-untyped]

from landlord import errors, policy, settings, telemetry
from landlord.api import conditions, ocirepository, reasons
from landlord.api.ocirepository import OCIRepositorySpec
from landlord.git import network, urls
from landlord.gitops import artifacts, durations, semver
from landlord.kube import Kube
from landlord.oci import client as oci_client
from landlord.oci import reference
from landlord.runtime.outcome import Outcome
from landlord.sources.tenancy import Tenancy

log = logging.getLogger(__name__)

Artifact = dict[str, Any]  # ``status.artifact``: revision, digest, lastUpdateTime, metadata

# The manifest's annotations shown in ``status.artifact.metadata``: at most this
# many, and none longer than this (a tenant's registry writes them).
MAX_METADATA = 32
MAX_METADATA_KEY = 253
MAX_METADATA_VALUE = 1024
# The name a copied layer gets in the artifact when it has no usable title.
COPIED_NAME = "layer"
_TITLE = "org.opencontainers.image.title"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}")

ClientFactory = Callable[..., oci_client.Client]


class RefusedError(errors.TerminalError):
    """A URL the client was about to fetch is refused (the policy, or a downgrade to HTTP)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotFoundError(errors.RetryableError):
    """A Secret or a matching tag or layer is not there (yet)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class OciFetcher:
    """Pulls one OCIRepository's selected artifact into the artifact store."""

    def __init__(
        self,
        kube: Kube,
        *,
        tenancy: Tenancy,
        store: artifacts.ArtifactStore,
        workdir: pathlib.Path,
        limits: artifacts.Limits,
        config: settings.OciSettings,
        gate: policy.Gate,
        platform_namespace: str,
        bounds: durations.Bounds,
        default_timeout: float,
        network_policy: network.NetworkPolicy | None = None,
        metrics: telemetry.Metrics | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.kube = kube
        self.tenancy = tenancy
        self.store = store
        self.workdir = workdir
        self.limits = limits
        # LANDLORD_OCI__*: manifest and layer caps, tag count, whether insecure is allowed.
        self.config = config
        self.gate = gate
        self.platform_namespace = platform_namespace
        self.bounds = bounds
        self.default_timeout = default_timeout
        self.network_policy = network_policy
        self.metrics = metrics
        self.client_factory: ClientFactory = client_factory or oci_client.Client

    def fetch(
        self,
        namespace: str,
        name: str,
        spec: OCIRepositorySpec,
        previous: Artifact | None,
    ) -> tuple[Outcome, Artifact | None, str | None]:
        """The outcome, the artifact status should show (``previous`` on failure), the URL."""
        shown: str | None = None
        secrets: list[str] = []
        try:
            refused = self._refused_spec(spec)
            if refused is not None:
                return refused, previous, None
            repository = reference.Repository.parse(spec.url)
            shown = repository.url
            if spec.insecure and not self.config.allow_insecure:
                message = (
                    "spec.insecure (plain HTTP to the registry) is not allowed on this platform; "
                    "nothing was fetched. Serve the registry over HTTPS (spec.certSecretRef "
                    "trusts a private CA), or a platform admin sets LANDLORD_OCI__ALLOW_INSECURE"
                )
                refused = Outcome(False, reasons.INSECURE_NOT_ALLOWED, message, stalled=True)
                return refused, previous, shown
            denied = self._denied(namespace, repository.url)
            if denied:
                return Outcome(False, reasons.POLICY_DENIED, denied, stalled=True), previous, shown
            credentials = self._credentials(namespace, spec, repository)
            if credentials is not None:
                secrets += credentials.secret_values()
            client = self.client_factory(
                repository,
                credentials=credentials,
                check=self.checker(namespace, repository, insecure=spec.insecure),
                timeout=durations.timeout(
                    spec.durations(), "timeout", self.default_timeout, self.bounds
                ),
                max_manifest_bytes=self.config.max_manifest_bytes,
                insecure=spec.insecure,
            )
            began = time.monotonic()
            wanted, by_digest = self._reference(client, spec)
            manifest = client.manifest(wanted)
            self._count(namespace, name, "manifest", time.monotonic() - began)
            revision = manifest.digest if by_digest else f"{wanted}@{manifest.digest}"
            key = ocirepository.artifact_key(revision, spec.model_dump(by_alias=True))
            folder = ocirepository.store_name(name)
            stored = self.store.lookup(namespace, folder, key)
            if stored is None:
                stored = self._pull(client, manifest, spec, namespace, name, key)
        except reference.InvalidReferenceError as error:
            message = urls.redact(str(error), secrets)
            return Outcome(False, reasons.INVALID_SOURCE, message, stalled=True), previous, shown
        except semver.RangeError as error:
            return Outcome(False, reasons.INVALID_SOURCE, str(error), stalled=True), previous, shown
        except RefusedError as error:
            # The policy's refusal waits for a new policy (which wakes every source);
            # a registry that sent the client somewhere odd may mend its ways.
            stalled = error.reason == reasons.POLICY_DENIED
            return Outcome(False, error.reason, str(error), stalled=stalled), previous, shown
        except network.BlockedAddressError as error:
            # The tenant sees what an unreachable host shows; the operator's log why.
            log.warning("source %s/%s: %s", namespace, name, urls.redact(error.detail, secrets))
            self._failed(namespace, name, error.reason)
            return Outcome(False, error.reason, error.message), previous, shown
        except (oci_client.OciError, artifacts.ArtifactError, NotFoundError) as error:
            self._failed(namespace, name, error.reason)
            message = urls.redact(error.message, secrets)
            return Outcome(False, error.reason, message), previous, shown
        artifact: Artifact = {
            "revision": revision,
            "digest": stored.digest,
            "lastUpdateTime": conditions.now(),
            "metadata": metadata(manifest.annotations),
        }
        if previous and (previous.get("revision"), previous.get("digest")) == (
            revision,
            stored.digest,
        ):
            artifact["lastUpdateTime"] = previous.get("lastUpdateTime", artifact["lastUpdateTime"])
        message = f"stored artifact for revision '{revision}'"
        return Outcome(True, reasons.SOURCE_SUCCEEDED, message), artifact, shown

    # -- the checks before any request ----------------------------------------------

    def _refused_spec(self, spec: OCIRepositorySpec) -> Outcome | None:
        """Fields accepted for Flux's sake that Landlord cannot honour: Stalled, nothing fetched."""
        if spec.provider != "generic":
            return Outcome(
                False,
                reasons.PROVIDER_NOT_SUPPORTED,
                f"spec.provider {spec.provider!r} is not supported: Landlord does not lend "
                "its own cloud identity to tenants; use provider 'generic' with "
                "spec.secretRef; nothing was fetched",
                stalled=True,
            )
        if spec.verify is not None:
            return Outcome(
                False,
                reasons.VERIFICATION_NOT_SUPPORTED,
                "spec.verify is not supported yet (signature verification is planned, see "
                "docs/oci.md); remove it to pull the artifact unverified; nothing was fetched",
                stalled=True,
            )
        return None

    def _denied(self, namespace: str, url: str) -> str | None:
        """Why the policy refuses the namespace's normalised repository URL (before any request)."""
        if namespace == self.platform_namespace:
            return None
        subject = policy.subject_for(namespace, self.tenancy.labels_of(namespace))
        decision = self.gate.check("source", [subject], url)
        if decision.allowed:
            return None
        return (
            f"{subject} may not use the source {url}: {decision.explain()}; nothing was "
            f"fetched. {decision.how_to_allow(subject)}"
        )

    def checker(
        self, namespace: str, repository: reference.Repository, *, insecure: bool
    ) -> oci_client.Checker:
        """Decides each URL the client fetches for ``repository`` before it connects.

        The registry's own host was decided by the policy as ``repository.url``;
        another host (a token realm, a redirect to blob storage) is decided on
        its own URL. Every host passes the network deny list; plain HTTP only
        when the spec asked for it and the platform allows it.
        """

        def check(url: str) -> network.Resolution | None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise RefusedError(
                    f"the registry sent the client to {_bare(url)!r}, which is not an HTTP(S) URL",
                    reason=reasons.INVALID_SOURCE,
                )
            if parts.scheme == "http" and not (insecure and self.config.allow_insecure):
                raise RefusedError(
                    f"the registry sent the client to plain HTTP ({_bare(url)}); only HTTPS "
                    "is allowed unless spec.insecure is set and the platform allows it",
                    reason=reasons.INSECURE_NOT_ALLOWED,
                )
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                raise RefusedError(
                    f"the URL {_bare(url)!r} has an invalid port", reason=reasons.INVALID_SOURCE
                ) from None
            host = parts.hostname.lower().rstrip(".")
            if namespace == self.platform_namespace:
                return None
            if (host, port) != (repository.hostname.lower(), repository.port):
                elsewhere = _bare(url)
                denied = self._denied(namespace, elsewhere)
                if denied:
                    raise RefusedError(denied, reason=reasons.POLICY_DENIED)
            if self.network_policy is None:
                return None
            return self.network_policy.check(_bare(url), host, port)

        return check

    def _credentials(
        self, namespace: str, spec: OCIRepositorySpec, repository: reference.Repository
    ) -> oci_client.Credentials | None:
        if spec.secret_ref is None and spec.cert_secret_ref is None:
            return None
        auth = (
            self._secret(namespace, spec.secret_ref.name, "spec.secretRef")
            if (spec.secret_ref)
            else None
        )
        certs = (
            self._secret(namespace, spec.cert_secret_ref.name, "spec.certSecretRef")
            if (spec.cert_secret_ref)
            else None
        )
        return oci_client.Credentials.from_secrets(auth, certs, repository.host)

    def _secret(self, namespace: str, name: str, field: str) -> dict[str, str]:
        secret = self.kube.get("v1", "Secret", name, namespace)
        if secret is None:
            raise NotFoundError(
                f"Secret {namespace}/{name} ({field}) not found", reason=reasons.SECRET_NOT_FOUND
            )
        return dict(secret.get("data") or {})

    # -- the ref, the layer, the pull ---------------------------------------------

    def _reference(self, client: oci_client.Client, spec: OCIRepositorySpec) -> tuple[str, bool]:
        """What to ask the registry for, and whether it is a digest (digest > semver > tag)."""
        ref = spec.ref
        if ref is not None and ref.digest:
            if not reference.valid_digest(ref.digest):
                raise reference.InvalidReferenceError(
                    f"spec.ref.digest {ref.digest!r} is not a sha256:… or sha512:… digest"
                )
            return ref.digest, True
        if ref is not None and ref.semver:
            wanted = semver.Range.parse(ref.semver)
            tags = client.tags(limit=self.config.max_tags)
            if ref.semver_filter:
                pattern = _filter(ref.semver_filter)
                tags = [tag for tag in tags if pattern.search(tag)]
            best = wanted.best(tags)
            if best is None:
                raise NotFoundError(
                    f"no tag of {client_url(client)} matches the semver range {ref.semver!r}"
                    + (f" with filter {ref.semver_filter!r}" if ref.semver_filter else "")
                    + f" ({len(tags)} tags considered)",
                    reason=reasons.REF_NOT_FOUND,
                )
            return best, False
        tag = (ref.tag if ref is not None else None) or ocirepository.DEFAULT_TAG
        if not reference.valid_tag(tag):
            raise reference.InvalidReferenceError(f"spec.ref.tag {tag!r} is not a valid tag")
        return tag, False

    def _pull(
        self,
        client: oci_client.Client,
        manifest: oci_client.Manifest,
        spec: OCIRepositorySpec,
        namespace: str,
        name: str,
        key: str,
    ) -> artifacts.Artifact:
        layer = choose_layer(manifest, spec.media_type())
        cap = self.config.max_layer_bytes
        if spec.operation() == "copy":
            cap = min(cap, self.limits.max_file_bytes)
        if layer.size > cap:
            raise artifacts.ArtifactError(
                f"the layer {layer.digest} is {layer.size} bytes; the limit is {cap} "
                "(nothing was downloaded)",
                reason=reasons.ARTIFACT_TOO_LARGE,
            )
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.workdir) as blob:
            client.fetch_blob(layer, blob, max_bytes=cap)
            blob.seek(0)
            folder = ocirepository.store_name(name)
            if spec.operation() == "copy":
                with tempfile.TemporaryFile(dir=self.workdir) as packed:
                    _single_file_tar(blob, layer, packed)
                    stored = self.store.store(
                        namespace, folder, key, packed, ignore=spec.ignore, limits=self.limits
                    )
            else:
                stored = self._extract(blob, namespace, folder, key, spec.ignore)
        self._count(namespace, name, "pull", time.monotonic() - began, layer.size)
        return stored

    def _extract(
        self, blob: BinaryIO, namespace: str, folder: str, key: str, ignore: str | None
    ) -> artifacts.Artifact:
        """Gunzip and untar the layer through the store's checks (a plain tar is taken too)."""
        gzipped = blob.read(2) == b"\x1f\x8b"
        blob.seek(0)
        stream: Any = gzip.GzipFile(fileobj=blob, mode="rb") if gzipped else blob
        try:
            return self.store.store(
                namespace, folder, key, stream, ignore=ignore, limits=self.limits
            )
        except (OSError, EOFError, zlib.error) as error:
            # A tenant's bytes that do not decompress (BadGzipFile, zlib.error, a
            # truncated stream); an OSError with an errno is the operator's own disk.
            if isinstance(error, OSError) and error.errno is not None:
                raise
            raise artifacts.ArtifactError(
                f"the layer is not a valid gzip-compressed tar: {str(error)[:200]}",
                reason=reasons.ARTIFACT_FAILED,
            ) from None

    def _count(
        self, namespace: str, name: str, operation: str, seconds: float, size: int = 0
    ) -> None:
        if self.metrics is None:
            return
        self.metrics.source_git_seconds.labels(
            namespace=namespace, name=name, operation=f"oci-{operation}"
        ).observe(seconds)
        if size:
            self.metrics.source_fetched_bytes_total.labels(namespace=namespace, name=name).inc(size)

    def _failed(self, namespace: str, name: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.source_failures_total.labels(
                namespace=namespace, name=name, reason=reason
            ).inc()


def choose_layer(manifest: oci_client.Manifest, media_type: str | None) -> oci_client.Descriptor:
    """The layer ``layerSelector.mediaType`` names (the first such), or the first layer."""
    if not manifest.layers:
        raise NotFoundError("the artifact's manifest has no layers", reason=reasons.LAYER_NOT_FOUND)
    if media_type is None:
        return manifest.layers[0]
    for layer in manifest.layers:
        if layer.media_type == media_type:
            return layer
    found = sorted({layer.media_type for layer in manifest.layers})[:5]
    raise NotFoundError(
        f"no layer has the media type {media_type!r} (spec.layerSelector.mediaType); "
        f"the artifact's layers are {', '.join(found)}",
        reason=reasons.LAYER_NOT_FOUND,
    )


def metadata(annotations: Mapping[str, Any]) -> dict[str, str]:
    """The manifest's annotations for status, capped in count and size (strings only)."""
    shown: dict[str, str] = {}
    for key in sorted(k for k in annotations if isinstance(k, str)):
        value = annotations[key]
        if not isinstance(value, str):
            continue
        if len(key) > MAX_METADATA_KEY or len(value) > MAX_METADATA_VALUE:
            continue
        shown[key] = value
        if len(shown) >= MAX_METADATA:
            break
    return shown


def copied_name(layer: oci_client.Descriptor) -> str:
    """The file a copied layer becomes: its title annotation when that is a plain name."""
    title = (layer.annotations or {}).get(_TITLE) or ""
    if _SAFE_NAME.fullmatch(title) and title not in (".", ".."):
        return title
    return COPIED_NAME


def client_url(client: oci_client.Client) -> str:
    repository = getattr(client, "repository", None)
    return repository.url if isinstance(repository, reference.Repository) else "the repository"


def _single_file_tar(blob: BinaryIO, layer: oci_client.Descriptor, out: BinaryIO) -> None:
    """Write to ``out`` a tar holding the layer as one regular file (``copy``)."""
    info = tarfile.TarInfo(copied_name(layer))
    blob.seek(0, io.SEEK_END)
    info.size = blob.tell()
    blob.seek(0)
    info.mode = 0o644
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(info, blob)
    out.seek(0)


def _filter(text: str) -> Any:
    """``spec.ref.semverFilter`` compiled with RE2 (linear time, Flux's syntax)."""
    options = re2.Options()
    options.log_errors = False  # a tenant's bad pattern is its status, not our log
    try:
        return re2.compile(text, options=options)
    except re2.error as error:
        raw = error.args[0] if error.args else "invalid"
        why = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        raise reference.InvalidReferenceError(
            f"spec.ref.semverFilter {text[:80]!r} is not a regular expression RE2 accepts ({why})"
        ) from None


def _bare(url: str) -> str:
    """``url`` without userinfo, query or fragment (what messages and the policy see)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
