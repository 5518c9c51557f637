"""A registered cluster's kubeconfig is data: only inline certificates and tokens are used."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from landlord.kube import remote

GOOD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "c",
            "cluster": {
                "server": "https://10.0.0.1:6443",
                "certificate-authority-data": "Q0E=",
                "extensions": [{"name": "x", "extension": {}}],
            },
        }
    ],
    "users": [{"name": "u", "user": {"token": "t0k"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "x"}}],
    "current-context": "ctx",
}


def _with(section: str, **fields: Any) -> bytes:
    document = copy.deepcopy(GOOD)
    document[section][0][section[:-1]].update(fields)
    return yaml.safe_dump(document).encode()


def test_an_inline_token_kubeconfig_is_kept_to_the_fields_landlord_uses() -> None:
    target = remote.parse(yaml.safe_dump(GOOD))

    assert target.server == "https://10.0.0.1:6443"
    assert target.cluster == {
        "server": "https://10.0.0.1:6443",
        "certificate-authority-data": "Q0E=",
    }
    assert target.user == {"token": "t0k"}
    assert yaml.safe_load(remote.yaml_of(target))["current-context"] == "target"


@pytest.mark.parametrize(
    ("section", "fields", "named"),
    [
        ("users", {"exec": {"command": "/bin/sh", "args": ["-c", "touch /tmp/x"]}}, "exec"),
        ("users", {"auth-provider": {"name": "oidc", "config": {}}}, "auth-provider"),
        (
            "users",
            {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
            "tokenFile",
        ),
        ("users", {"client-certificate": "/etc/landlord/tls.crt"}, "client-certificate"),
        ("users", {"client-key": "/etc/landlord/tls.key"}, "client-key"),
        ("users", {"as": "system:admin"}, "as"),
        ("users", {"username": "a", "password": "b"}, "basic authentication"),
        ("clusters", {"certificate-authority": "/etc/ssl/ca.pem"}, "certificate-authority"),
        ("clusters", {"insecure-skip-tls-verify": True}, "not checked"),
        ("clusters", {"proxy-url": "http://10.0.0.9:3128"}, "proxy"),
        ("clusters", {"server": "http://10.0.0.1:8080"}, "https://"),
    ],
)
def test_anything_that_runs_reads_a_file_or_weakens_tls_is_refused_by_name(
    section: str, fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(remote.KubeconfigError, match=named):
        remote.parse(_with(section, **fields))


def test_only_the_current_context_counts_but_it_must_resolve() -> None:
    document = copy.deepcopy(GOOD)
    document["current-context"] = "missing"
    with pytest.raises(remote.KubeconfigError, match="no context named 'missing'"):
        remote.parse(yaml.safe_dump(document))
    document["current-context"] = ""
    with pytest.raises(remote.KubeconfigError, match="no current-context"):
        remote.parse(yaml.safe_dump(document))


def test_a_user_without_an_inline_credential_is_refused() -> None:
    document = copy.deepcopy(GOOD)
    document["users"][0]["user"] = {"client-certificate-data": "Q0U="}  # no key
    with pytest.raises(remote.KubeconfigError, match="no inline credential"):
        remote.parse(yaml.safe_dump(document))


@pytest.mark.parametrize(
    "text", [b"- a list", b"{unclosed", b"x" * (remote.MAX_KUBECONFIG_BYTES + 1)]
)
def test_what_is_not_a_kubeconfig_is_refused(text: bytes) -> None:
    with pytest.raises(remote.KubeconfigError):
        remote.parse(text)


def test_a_field_of_another_type_is_refused() -> None:
    with pytest.raises(remote.KubeconfigError, match="must be a string"):
        remote.parse(_with("users", token=["not", "a", "string"]))


def test_a_broken_line_is_located_never_echoed() -> None:
    text = b"users:\n- name: u\n  user:\n    token: s3cr3t-t0ken: [\n"

    with pytest.raises(remote.KubeconfigError) as refused:
        remote.parse(text)

    assert "s3cr3t" not in str(refused.value)
    assert "line 4" in str(refused.value)


def test_a_registered_cluster_s_requests_give_up_but_its_watches_outlast_the_server() -> None:
    client = remote.connect(remote.parse(yaml.safe_dump(GOOD)))
    impersonating = client.as_service_account("team-a", "landlord-reconciler")
    seen: list[Any] = []

    class Pool:
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(kwargs.get("timeout"))
            raise RuntimeError("no network in a unit test")

        def clear(self) -> None:
            """Closing the client closes its pool."""

    for each in (client, impersonating):
        each.api_client.rest_client.pool_manager = Pool()
        for url in ("/api/v1/namespaces?limit=5", "/api/v1/namespaces?watch=True"):
            with pytest.raises(RuntimeError):
                each.api_client.rest_client.request("GET", "https://10.0.0.1:6443" + url)

    reads = [(t.connect_timeout, t.read_timeout) for t in seen]
    assert reads == [(5.0, 30.0), (5.0, 300.0)] * 2
