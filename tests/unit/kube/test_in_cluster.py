"""In a pod without a kubeconfig, Landlord uses the pod's service account, as client-go does."""

from __future__ import annotations

import pathlib

import pytest

from landlord import kube
from landlord.kube import client


@pytest.fixture
def pod(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> pathlib.Path:
    """A pod's environment: the Service host set, a service-account token and CA, no kubeconfig."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(
        client.k8s_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / ".kube" / "config")
    )
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token")
    (account / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(
        client.k8s_config.incluster_config, "SERVICE_TOKEN_FILENAME", str(account / "token")
    )
    monkeypatch.setattr(
        client.k8s_config.incluster_config, "SERVICE_CERT_FILENAME", str(account / "ca.crt")
    )
    return tmp_path


def test_a_pod_without_a_kubeconfig_connects_as_its_service_account(pod: pathlib.Path) -> None:
    assert client.in_cluster()
    connected = kube.connect()

    assert connected.configuration.host == "https://10.0.0.1:443"
    assert kube.bearer_token() == "pod-token"


def test_a_kubeconfig_wins_over_the_pods_identity(
    pod: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not client.in_cluster("/some/kubeconfig")
    monkeypatch.setenv("KUBECONFIG", "/some/kubeconfig")
    assert not client.in_cluster()


def test_outside_a_pod_without_a_kubeconfig_the_client_says_so(
    pod: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert not client.in_cluster()
    with pytest.raises(Exception, match="config"):
        kube.connect()
