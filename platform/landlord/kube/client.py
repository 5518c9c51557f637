"""Connect to an apiserver, optionally impersonating another identity, and act on objects.

Objects go in and come out as plain dicts. Failures become
:class:`landlord.errors.ApiError` with the HTTP status and the apiserver's message.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import pathlib
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import dynamic
from kubernetes.client import exceptions as k8s_exceptions
from kubernetes.client import rest
from kubernetes.dynamic import exceptions as dynamic_exceptions

from landlord import errors
from landlord.kube import credentials as credentials_mod

Manifest = dict[str, Any]

# Called with the HTTP method of every request any client of this process makes
# (the operator counts them in a metric); watches count once, when they start.
_on_request: list[Callable[[str], None]] = []


def count_requests(callback: Callable[[str], None]) -> None:
    """Have ``callback(method)`` called for each request to the apiserver from now on."""
    _on_request.append(callback)


def _counted(rest: Any) -> None:
    request = rest.request

    def counted(method: str, *args: Any, **kwargs: Any) -> Any:
        for callback in _on_request:
            callback(method)
        return request(method, *args, **kwargs)

    rest.request = counted


def plain(_client: Any, data: Any) -> Any:
    """The dynamic client's ``serializer``: the decoded JSON as it is.

    Its default wraps every response in a ``ResourceInstance`` tree that the
    callers turned straight back into dicts: most of a request's CPU in this
    process went there (issue 18's profile).
    """
    return data


# The api_reason of an ApiError for a request that got no answer.
UNREACHABLE = errors.UNANSWERED


def _bounded(rest: Any, connect: float, read: float | None, watch: float | None) -> None:
    """Requests that set no timeout of their own give up after ``connect`` / ``read`` seconds.

    A watch (``watch=true``) waits for its answer up to ``watch`` seconds instead.
    """
    inner = rest.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("_request_timeout") is None:
            params = kwargs.get("query_params") or []
            watching = any(k == "watch" and v for k, v in params) or "watch=" in url
            kwargs["_request_timeout"] = (connect, watch if watching else read)
        return inner(method, url, *args, **kwargs)

    rest.request = request


def service_account_user(namespace: str, name: str) -> str:
    """The username the apiserver gives a service account."""
    return f"system:serviceaccount:{namespace}:{name}"


def _api_error(error: Exception) -> errors.ApiError:
    status = int(getattr(error, "status", 0) or 0)
    body = getattr(error, "body", None)
    message, api_reason = str(error), ""
    if body:
        try:
            parsed = json.loads(body)
            message = parsed.get("message", message)
            api_reason = parsed.get("reason", "")
        except (TypeError, ValueError):
            message = str(body)
    return errors.ApiError(message, status=status, api_reason=api_reason)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (k8s_exceptions.ApiException, dynamic_exceptions.DynamicApiError) as error:
        raise _api_error(error) from error
    except urllib3.exceptions.HTTPError as error:
        # No answer at all (refused, timed out, reset): a registered cluster that is
        # down is a condition to report and retry, not a crash.
        raise errors.ApiError(
            f"no answer from the apiserver: {str(error)[:300]}",
            status=503,
            api_reason=UNREACHABLE,
        ) from error


class Kube:
    """API access for one identity: the kubeconfig's own, or an impersonated one."""

    def __init__(
        self,
        configuration: k8s.Configuration,
        *,
        user: str | None = None,
        groups: Sequence[str] = (),
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        watch_read_timeout: float | None = None,
        via: Kube | None = None,
        credentials: credentials_mod.Credentials | None = None,
    ) -> None:
        if len(groups) > 1:
            # The client sends headers from a dict: one Impersonate-Group value at most.
            raise ValueError("impersonating more than one extra group is not supported")
        self.configuration = configuration
        self.user = user
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.watch_read_timeout = watch_read_timeout
        # The kubeconfig the credentials came from (None: a pod's own, or inline).
        self.credentials = credentials
        if credentials is not None:
            credentials.follow(configuration)
        # Impersonation headers, sent with every request of this identity.
        self._impersonation: dict[str, str] = {}
        if user is not None:
            self._impersonation["Impersonate-User"] = user
            for group in groups:
                self._impersonation["Impersonate-Group"] = group
        # ``via``: the connection whose pool, discovery and lock an impersonated identity
        # shares (its object requests carry the headers above). Its typed APIs and raw
        # requests get a client of their own, with the headers as defaults.
        self._via = via
        self._own_client: k8s.ApiClient | None = None
        self._client_lock = threading.Lock()
        self._discovery_lock: threading.Lock = (
            via._discovery_lock if via is not None else threading.Lock()
        )
        if via is None:
            self._own_client = self._new_client()

    def _new_client(self) -> k8s.ApiClient:
        api_client = k8s.ApiClient(self.configuration)
        timeouts = (
            None
            if self.connect_timeout is None
            else (self.connect_timeout, self.read_timeout, self.watch_read_timeout)
        )
        make_rest = functools.partial(_rest_layer, timeouts=timeouts, credentials=self.credentials)
        api_client.rest_client = make_rest(self.configuration)
        if self.credentials is not None:
            self.credentials.track(api_client, make_rest)
        for header, value in self._impersonation.items():
            api_client.set_default_header(header, value)
        return api_client

    @property
    def credentials_refused_for(self) -> float | None:
        """Seconds the apiserver has refused these credentials (None: it accepts them)."""
        since = None if self.credentials is None else self.credentials.refused_since
        return None if since is None else time.monotonic() - since

    @property
    def api_client(self) -> k8s.ApiClient:
        """The identity's own client (typed APIs, raw requests), made on first use."""
        with self._client_lock:
            if self._own_client is None:
                self._own_client = self._new_client()
                # An impersonated identity is dropped without close() more often than
                # not: its pool's sockets are closed when it goes, not left to the
                # garbage collector (which warns of unclosed sockets, at random).
                weakref.finalize(self, _close_quietly, self._own_client)
            return self._own_client

    def request_options(self) -> dict[str, Any]:
        """Keyword arguments every dynamic-client request of this identity must carry."""
        if self._via is None:
            return {}
        # A fresh dict each time: the dynamic client adds Accept and Content-Type to it.
        return {"header_params": dict(self._impersonation)}

    def impersonate(self, user: str, groups: Sequence[str] = ()) -> Kube:
        """The same connection, acting as ``user`` (and ``groups``).

        Its object requests share this connection's pool and discovery (a client
        per identity cost a TLS handshake, ~230 KiB and ~10 ms of CPU: issue 18),
        each one sending the impersonation headers.
        """
        return Kube(
            copy.copy(self.configuration),
            user=user,
            groups=groups,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            watch_read_timeout=self.watch_read_timeout,
            via=self._via or self,
            credentials=self.credentials,
        )

    def as_service_account(self, namespace: str, name: str) -> Kube:
        """Act as a service account; the apiserver adds its groups itself."""
        return self.impersonate(service_account_user(namespace, name))

    @functools.cached_property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client)

    @functools.cached_property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api_client)

    @functools.cached_property
    def rbac(self) -> k8s.RbacAuthorizationV1Api:
        return k8s.RbacAuthorizationV1Api(self.api_client)

    @functools.cached_property
    def authentication(self) -> k8s.AuthenticationV1Api:
        return k8s.AuthenticationV1Api(self.api_client)

    @functools.cached_property
    def authorization(self) -> k8s.AuthorizationV1Api:
        return k8s.AuthorizationV1Api(self.api_client)

    @functools.cached_property
    def dynamic(self) -> dynamic.DynamicClient:
        """The dynamic client of the connection (shared by its impersonated identities).

        Its resources send no impersonation headers of their own: every request
        goes through a method of this class, which adds :meth:`request_options`.
        """
        if self._via is not None:
            return self._via.dynamic
        return dynamic.DynamicClient(self.api_client)

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic client's resource for a kind, rediscovering once for new CRDs."""
        with self._discovery_lock, _translated():
            try:
                return self.dynamic.resources.get(api_version=api_version, kind=kind)
            except (KeyError, TypeError, AttributeError):
                # A discovery cut short (the apiserver went away mid-way) leaves the
                # client's cache half-written: start it again rather than fail forever.
                self.dynamic.resources.invalidate_cache()
                return self.dynamic.resources.get(api_version=api_version, kind=kind)
            except dynamic_exceptions.ResourceNotFoundError:
                self.dynamic.resources.invalidate_cache()
                try:
                    return self.dynamic.resources.get(api_version=api_version, kind=kind)
                except dynamic_exceptions.ResourceNotFoundError as error:
                    raise errors.ApiError(
                        f"the apiserver does not serve {kind} ({api_version})",
                        status=404,
                        api_reason="NotFound",
                        hint="is its CRD installed? run `landlord install`",
                    ) from error

    def apply(
        self, manifest: Manifest, *, field_manager: str, force: bool = False, dry_run: bool = False
    ) -> Manifest:
        """Server-side apply ``manifest``; return the object the apiserver stored."""
        resource = self.resource(manifest["apiVersion"], manifest["kind"])
        metadata = manifest.get("metadata", {})
        extra = {"dry_run": "All"} if dry_run else {}
        with _translated():
            result = resource.server_side_apply(
                body=manifest,
                name=metadata["name"],
                namespace=metadata.get("namespace"),
                field_manager=field_manager,
                force_conflicts=force,
                serializer=plain,
                **extra,
                **self.request_options(),
            )
        stored: Manifest = result
        return stored

    def create(self, manifest: Manifest) -> Manifest:
        """Create ``manifest``; ApiError with status 409 if it exists."""
        resource = self.resource(manifest["apiVersion"], manifest["kind"])
        with _translated():
            result = resource.create(
                body=manifest,
                namespace=manifest["metadata"].get("namespace"),
                serializer=plain,
                **self.request_options(),
            )
        created: Manifest = result
        return created

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        """The object, or None when it does not exist."""
        resource = self.resource(api_version, kind)
        try:
            with _translated():
                result = resource.get(
                    name=name, namespace=namespace, serializer=plain, **self.request_options()
                )
        except errors.ApiError as error:
            if error.not_found:
                return None
            raise
        found: Manifest = result
        return found

    def list_objects(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[Manifest]:
        """Objects of a kind (in all namespaces unless ``namespace``), as dicts."""
        resource = self.resource(api_version, kind)
        with _translated():
            result = resource.get(
                namespace=namespace,
                label_selector=label_selector,
                serializer=plain,
                **self.request_options(),
            )
        items: list[Manifest] = result.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
    ) -> bool:
        """Delete the object; False if it was already gone."""
        resource = self.resource(api_version, kind)
        try:
            with _translated():
                resource.delete(
                    name=name,
                    namespace=namespace,
                    body={"propagationPolicy": propagation},
                    **self.request_options(),
                )
        except errors.ApiError as error:
            if error.not_found:
                return False
            raise
        return True

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Manifest,
        namespace: str | None = None,
        *,
        status: bool = False,
    ) -> Manifest:
        """JSON merge patch the object (or its status subresource)."""
        resource = self.resource(api_version, kind)
        target = resource.status if status else resource
        with _translated():
            result = target.patch(
                body=patch,
                name=name,
                namespace=namespace,
                content_type="application/merge-patch+json",
                serializer=plain,
                **self.request_options(),
            )
        patched: Manifest = result
        return patched

    def review_token(
        self, token: str, *, audiences: Sequence[str] = ()
    ) -> tuple[str, list[str]] | None:
        """Ask the apiserver who a bearer token belongs to: (user, groups), or None.

        With ``audiences`` the token must have been issued for one of them: the
        review must say so in ``status.audiences`` (an authenticator that ignores
        audiences returns none, and its tokens are refused).
        """
        spec = k8s.V1TokenReviewSpec(token=token, audiences=list(audiences) or None)
        with _translated():
            review = self.authentication.create_token_review(k8s.V1TokenReview(spec=spec))
        status = review.status
        if status is None or not status.authenticated or status.user is None:
            return None
        if audiences and not set(status.audiences or ()) & set(audiences):
            return None
        return str(status.user.username), list(status.user.groups or [])

    def service_account_token(
        self, namespace: str, name: str, *, seconds: int = 3600, audiences: Sequence[str] = ()
    ) -> str:
        """A short-lived token for a service account (TokenRequest)."""
        request = k8s.AuthenticationV1TokenRequest(
            spec=k8s.V1TokenRequestSpec(expiration_seconds=seconds, audiences=list(audiences))
        )
        with _translated():
            result = self.core.create_namespaced_service_account_token(name, namespace, request)
        if result.status is None:
            raise errors.ApiError(f"no token issued for {namespace}/{name}", status=500)
        return str(result.status.token)

    def endpoint(self) -> tuple[str, bytes | None, bool]:
        """The apiserver's URL, its CA (PEM; None: the system's) and whether TLS is verified.

        What a tool handed another identity's token needs to reach the same apiserver.
        """
        config = self.configuration
        ca: bytes | None = None
        if config.ssl_ca_cert:
            ca = pathlib.Path(config.ssl_ca_cert).read_bytes()
        return str(config.host), ca, bool(config.verify_ssl)

    def raw_get(self, path: str) -> str:
        """GET a non-resource path (``/metrics``, ``/readyz``) as text."""
        headers = dict(self.api_client.default_headers)
        token = token_of(self.configuration)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with _translated():
            response = self.api_client.rest_client.request(
                "GET", self.configuration.host + path, headers=headers
            )
        data = response.read()
        return data.decode() if isinstance(data, bytes) else str(data)

    def listable_kinds(self) -> list[tuple[str, str, bool]]:
        """(apiVersion, kind, namespaced) of every preferred kind that supports list."""
        kinds = []
        with self._discovery_lock:
            self.dynamic.resources.invalidate_cache()
            for resource in self.dynamic.resources.search():
                verbs = getattr(resource, "verbs", None) or []
                if (
                    "list" in verbs
                    and "/" not in resource.name
                    and resource.preferred
                    and not resource.kind.endswith("List")
                ):
                    kinds.append((resource.group_version, resource.kind, resource.namespaced))
        return sorted(set(kinds))

    def close(self) -> None:
        """Close this identity's own client (never the connection it shares)."""
        with self._client_lock:
            if self._own_client is not None:
                self._own_client.close()
                self._own_client = None


def _close_quietly(api_client: k8s.ApiClient) -> None:
    """Close a client from a finalizer: nothing may be raised into the garbage collector."""
    with contextlib.suppress(Exception):
        api_client.close()


def in_cluster(kubeconfig: pathlib.Path | str | None = None) -> bool:
    """Whether to use the pod's service account: no kubeconfig anywhere, inside a pod.

    As client-go decides: an explicit file or ``$KUBECONFIG`` wins, then
    ``~/.kube/config``; only without all three does a pod's own identity count.
    """
    if kubeconfig or os.environ.get("KUBECONFIG"):
        return False
    if pathlib.Path(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION).expanduser().exists():
        return False
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def _configure(
    configuration: k8s.Configuration,
    kubeconfig: pathlib.Path | str | None,
    context: str | None = None,
) -> None:
    if in_cluster(kubeconfig):
        # Re-reads the projected token when it rotates (the kubelet renews it hourly).
        k8s_config.load_incluster_config(client_configuration=configuration)
        return
    k8s_config.load_kube_config(
        config_file=str(kubeconfig) if kubeconfig else None,
        context=context,
        client_configuration=configuration,
    )


def connect(kubeconfig: pathlib.Path | str | None = None, *, context: str | None = None) -> Kube:
    """Connect with a kubeconfig file (or ``$KUBECONFIG`` / ``~/.kube/config``), else in-cluster.

    A kubeconfig is read again when the apiserver refuses its credentials
    (:mod:`landlord.kube.credentials`); a pod's token is re-read as it rotates.
    """
    configuration = k8s.Configuration()
    source = str(
        kubeconfig or os.environ.get("KUBECONFIG") or k8s_config.KUBE_CONFIG_DEFAULT_LOCATION
    )
    try:
        _configure(configuration, kubeconfig, context)
    except k8s_config.ConfigException as error:
        where = "in-cluster configuration" if in_cluster(kubeconfig) else f"kubeconfig {source}"
        raise errors.TerminalError(
            f"cannot connect to a cluster: the {where} is not usable: {error}",
            hint="set KUBECONFIG to a kubeconfig file (e.g. the one `landlord cluster up` "
            "prints), or pass --kubeconfig where the command has it",
        ) from None
    if in_cluster(kubeconfig):
        return Kube(configuration)
    load = functools.partial(_configure, kubeconfig=kubeconfig, context=context)
    return Kube(configuration, credentials=credentials_mod.Credentials(source, load, configuration))


def _rest_layer(
    configuration: k8s.Configuration,
    *,
    timeouts: tuple[float, float | None, float | None] | None,
    credentials: credentials_mod.Credentials | None,
) -> rest.RESTClientObject:
    """A client's REST layer (its connection pools): counted, bounded, watching for 401s."""
    rest_client = rest.RESTClientObject(configuration)
    _counted(rest_client)
    if timeouts is not None:
        _bounded(rest_client, *timeouts)
    if credentials is not None:
        credentials_mod.refusals(rest_client, credentials)
    return rest_client


def bearer_token(kubeconfig: pathlib.Path | str | None = None) -> str | None:
    """The bearer token of the kubeconfig's current user (None: it uses certificates)."""
    configuration = k8s.Configuration()
    _configure(configuration, kubeconfig)
    return token_of(configuration)


def token_of(configuration: k8s.Configuration) -> str | None:
    """The bearer token a connection sends, re-read first if it rotates (None: certificates).

    A kubeconfig's token sits under ``authorization``, a pod's (re-read from the
    projected file by the refresh hook) under ``BearerToken``.
    """
    refresh: Any = getattr(configuration, "refresh_api_key_hook", None)
    if refresh is not None:
        refresh(configuration)
    value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization") or ""
    scheme, _, token = str(value).partition(" ")
    return token if scheme.lower() == "bearer" and token else None
