"""Connect to an apiserver, optionally impersonating another identity."""

from __future__ import annotations

import copy
import functools
import pathlib
from collections.abc import Sequence
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import dynamic


def service_account_user(namespace: str, name: str) -> str:
    """The username the apiserver gives a service account."""
    return f"system:serviceaccount:{namespace}:{name}"


class Kube:
    """API access for one identity: the kubeconfig's own, or an impersonated one."""

    def __init__(
        self,
        configuration: k8s.Configuration,
        *,
        user: str | None = None,
        groups: Sequence[str] = (),
    ) -> None:
        if len(groups) > 1:
            # The client sends headers from a dict: one Impersonate-Group value at most.
            raise ValueError("impersonating more than one extra group is not supported")
        self.configuration = configuration
        self.user = user
        self.api_client = k8s.ApiClient(configuration)
        if user is not None:
            self.api_client.set_default_header("Impersonate-User", user)
            for group in groups:
                self.api_client.set_default_header("Impersonate-Group", group)

    def impersonate(self, user: str, groups: Sequence[str] = ()) -> Kube:
        """The same connection, acting as ``user`` (and ``groups``)."""
        return Kube(copy.copy(self.configuration), user=user, groups=groups)

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
        return dynamic.DynamicClient(self.api_client)

    def apply(
        self, manifest: dict[str, Any], *, field_manager: str, force: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``manifest``; return the object the apiserver stored."""
        resource = self.dynamic.resources.get(
            api_version=manifest["apiVersion"], kind=manifest["kind"]
        )
        namespace = manifest.get("metadata", {}).get("namespace")
        result = resource.server_side_apply(
            body=manifest,
            name=manifest["metadata"]["name"],
            namespace=namespace,
            field_manager=field_manager,
            force_conflicts=force,
        )
        stored: dict[str, Any] = result.to_dict()
        return stored

    def close(self) -> None:
        self.api_client.close()


def connect(kubeconfig: pathlib.Path | str | None = None, *, context: str | None = None) -> Kube:
    """Connect with a kubeconfig file (or ``$KUBECONFIG`` / ``~/.kube/config``)."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(
        config_file=str(kubeconfig) if kubeconfig else None,
        context=context,
        client_configuration=configuration,
    )
    return Kube(configuration)
