"""A kubeconfig read again after a refusal: what changes, and who learns of it."""

from __future__ import annotations

import pathlib

import pytest
from kubernetes import client as k8s

from landlord.kube import credentials as credentials_mod


def _loader(token: dict[str, str], cert: pathlib.Path) -> credentials_mod.Loader:
    def load(configuration: k8s.Configuration) -> None:
        configuration.host = "https://127.0.0.1:6443"
        configuration.api_key = {"authorization": f"Bearer {token['value']}"}
        configuration.cert_file = str(cert)

    return load


def _connected(
    load: credentials_mod.Loader, source: str = "kubeconfig"
) -> tuple[k8s.Configuration, credentials_mod.Credentials]:
    """A configuration as ``load`` reads it, and its Credentials."""
    configuration = k8s.Configuration()
    load(configuration)
    return configuration, credentials_mod.Credentials(source, load, configuration)


@pytest.fixture
def cert(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "client.crt"
    path.write_text("first certificate")
    return path


def test_unchanged_credentials_are_not_replaced(cert: pathlib.Path) -> None:
    token = {"value": "a"}
    load = _loader(token, cert)
    _, credentials = _connected(load)

    assert credentials.reload() is False
    assert credentials.reloads == 0


def test_a_new_token_reaches_every_configuration_and_client(cert: pathlib.Path) -> None:
    token = {"value": "a"}
    load = _loader(token, cert)
    configuration, credentials = _connected(load)
    impersonated = k8s.Configuration()
    load(impersonated)
    credentials.follow(impersonated)
    api_client = k8s.ApiClient(configuration)
    remade: list[k8s.Configuration] = []
    credentials.track(api_client, lambda c: remade.append(c) or api_client.rest_client)
    told: list[bool] = []
    credentials.on_change.append(lambda: told.append(True))

    token["value"] = "b"
    assert credentials.reload() is True

    assert configuration.api_key == {"authorization": "Bearer b"}
    assert impersonated.api_key == {"authorization": "Bearer b"}
    assert remade == [configuration]  # new pools for the client
    assert told == [True]


def test_a_certificate_rewritten_in_place_counts_as_new(cert: pathlib.Path) -> None:
    load = _loader({"value": "a"}, cert)
    _, credentials = _connected(load)

    cert.write_text("rotated certificate")  # same path, new content

    assert credentials.reload() is True


def test_refusals_are_said_once_and_cleared_by_a_success(
    cert: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, credentials = _connected(_loader({"value": "a"}, cert), "the-kubeconfig")

    for _ in range(3):
        credentials.refused()
    assert credentials.refused_since is not None
    credentials.accepted()

    said = [r.getMessage() for r in caplog.records if "refuses the credentials" in r.getMessage()]
    assert len(said) == 1
    assert "the-kubeconfig" in said[0]
    assert credentials.refused_since is None


def test_an_unreadable_kubeconfig_keeps_the_credentials_in_use(cert: pathlib.Path) -> None:
    load = _loader({"value": "a"}, cert)
    configuration = k8s.Configuration()
    load(configuration)

    def broken(_: k8s.Configuration) -> None:
        raise ValueError("half-written file")

    credentials = credentials_mod.Credentials("kubeconfig", broken, configuration)

    assert credentials.reload() is False
    assert configuration.api_key == {"authorization": "Bearer a"}
