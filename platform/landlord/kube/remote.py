"""Connections to registered clusters, from kubeconfigs held in Secrets.

A kubeconfig a Secret holds is data, never instructions: only an inline
server, CA, token or client certificate is used. ``exec`` plugins and
``auth-provider`` entries would run programs or call identity providers with
the operator's privileges, and file references (``tokenFile``,
``certificate-authority``, ``client-certificate``, ``client-key``) would read
the operator's own files (Flux CVE-2022-24817's class): each is refused by
name before the client library sees the document, and the library is handed a
new kubeconfig holding the allowed fields alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from landlord import errors
from landlord.kube.client import Kube

# What a registered cluster's connection may use, and what is ignored as harmless.
CLUSTER_FIELDS = frozenset({"server", "certificate-authority-data", "tls-server-name"})
USER_FIELDS = frozenset({"token", "client-certificate-data", "client-key-data"})
IGNORED_FIELDS = frozenset({"extensions", "disable-compression"})
# Why each refused field is refused (others: not supported).
REFUSED = {
    "exec": "an exec plugin would run a program in the operator",
    "auth-provider": "an auth-provider would refresh tokens with the operator's privileges",
    "tokenFile": "a file reference would read the operator's own files",
    "certificate-authority": "a file reference would read the operator's own files",
    "client-certificate": "a file reference would read the operator's own files",
    "client-key": "a file reference would read the operator's own files",
    "insecure-skip-tls-verify": "the credential would be sent to a server whose certificate "
    "is not checked",
    "proxy-url": "requests would leave through a proxy the kubeconfig chose",
    "username": "basic authentication is not supported by Kubernetes any more",
    "password": "basic authentication is not supported by Kubernetes any more",
    "as": "Landlord impersonates the tenant itself",
    "as-groups": "Landlord impersonates the tenant itself",
    "as-uid": "Landlord impersonates the tenant itself",
    "as-user-extra": "Landlord impersonates the tenant itself",
}
# Connecting to a cluster that does not answer gives up this soon; an answer that does not
# come is given up after READ_TIMEOUT (a watch after WATCH_READ_TIMEOUT: longer than its 240 s
# server-side timeout, so a quiet watch is not cut short). One retry, not urllib3's three.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
WATCH_READ_TIMEOUT = 300.0
RETRIES = 1
MAX_KUBECONFIG_BYTES = 256 * 1024


class KubeconfigError(ValueError):
    """A kubeconfig Landlord will not use; the message says which field and why."""


@dataclasses.dataclass(frozen=True)
class Target:
    """The usable part of a kubeconfig: where, and with which inline credential."""

    server: str
    cluster: dict[str, Any]
    user: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """A kubeconfig holding this target alone."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "target", "cluster": self.cluster}],
            "users": [{"name": "target", "user": self.user}],
            "contexts": [{"name": "target", "context": {"cluster": "target", "user": "target"}}],
            "current-context": "target",
        }


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for item in document.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            body = item.get(section[:-1])
            if isinstance(body, dict):
                return body
    raise KubeconfigError(f"the kubeconfig has no {section[:-1]} named {name!r}")


def _checked(body: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    problems = []
    for key in sorted(body):
        if key in allowed or key in IGNORED_FIELDS:
            continue
        why = REFUSED.get(key, "not supported: only inline certificates and tokens are")
        problems.append(f"{what}.{key}: {why}")
    if problems:
        raise KubeconfigError("refused: " + "; ".join(problems))
    return {key: body[key] for key in sorted(body) if key in allowed}


def parse(text: str | bytes) -> Target:
    """The target of a kubeconfig's current context; KubeconfigError names what is refused."""
    if len(text) > MAX_KUBECONFIG_BYTES:
        raise KubeconfigError(f"the kubeconfig is over {MAX_KUBECONFIG_BYTES} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # PyYAML's message quotes the offending line, which may hold a token: never echoed.
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise KubeconfigError(f"the kubeconfig is not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise KubeconfigError("the kubeconfig is not a mapping")
    current = document.get("current-context")
    if not isinstance(current, str) or not current:
        raise KubeconfigError("the kubeconfig has no current-context")
    context = _named(document, "contexts", current)
    _checked(context, frozenset({"cluster", "user", "namespace"}), f"contexts[{current}]")
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if not isinstance(cluster_name, str) or not isinstance(user_name, str):
        raise KubeconfigError(f"context {current!r} names no cluster or no user")
    cluster = _checked(
        _named(document, "clusters", cluster_name), CLUSTER_FIELDS, f"clusters[{cluster_name}]"
    )
    user = _checked(_named(document, "users", user_name), USER_FIELDS, f"users[{user_name}]")
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeconfigError(
            f"clusters[{cluster_name}].server must be an https:// URL (the credential is "
            "never sent in the clear)"
        )
    if not user.get("token") and not (
        user.get("client-certificate-data") and user.get("client-key-data")
    ):
        raise KubeconfigError(
            f"users[{user_name}] has no inline credential: give token, or "
            "client-certificate-data with client-key-data"
        )
    if not all(isinstance(value, str) for value in (*cluster.values(), *user.values())):
        raise KubeconfigError("every kubeconfig field Landlord uses must be a string")
    return Target(server.rstrip("/"), cluster, user)


def connect(target: Target) -> Kube:
    """A client for ``target`` that gives up connecting after :data:`CONNECT_TIMEOUT`."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config_from_dict(
            target.document(), client_configuration=configuration, persist_config=False
        )
    except (k8s_config.ConfigException, ValueError, TypeError) as error:
        raise KubeconfigError(
            f"the kubeconfig could not be loaded ({type(error).__name__})"
        ) from None
    configuration.retries = RETRIES
    return Kube(
        configuration,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        watch_read_timeout=WATCH_READ_TIMEOUT,
    )


def identity(client: Kube) -> str:
    """A cluster's identity: the uid of its ``kube-system`` namespace (ApiError if unread)."""
    system = client.get("v1", "Namespace", "kube-system")
    uid = ((system or {}).get("metadata") or {}).get("uid")
    if not uid:
        raise errors.ApiError("the cluster has no kube-system namespace", status=404)
    return str(uid)


def server_version(client: Kube) -> str:
    """The apiserver's ``gitVersion``."""
    with_version = k8s.VersionApi(client.api_client)
    try:
        return str(with_version.get_code().git_version)
    except Exception as error:  # noqa: BLE001 - any failure to answer is unreachability
        raise errors.ApiError(f"no version answer: {str(error)[:200]}", status=503) from None


def yaml_of(target: Target) -> bytes:
    """The kubeconfig of ``target`` alone, as YAML (what a registration stores)."""
    return yaml.safe_dump(target.document(), sort_keys=False).encode()
