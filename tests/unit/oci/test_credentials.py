"""Registry credentials from a tenant's Secrets: both Flux shapes, clear refusals, no leaks."""

from __future__ import annotations

import base64
import json

import pytest

from landlord.oci.client import Credentials, OciError


def _data(**values: str) -> dict[str, str]:
    return {
        key.replace("_", "."): base64.b64encode(value.encode()).decode()
        for key, value in values.items()
    }


def _docker(auths: object) -> dict[str, str]:
    return {".dockerconfigjson": base64.b64encode(json.dumps({"auths": auths}).encode()).decode()}


def test_username_and_password() -> None:
    found = Credentials.from_secrets(_data(username="u", password="p"), None, "r.example")

    assert (found.username, found.password) == ("u", "p")


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("r.example:5000", "r.example:5000"),
        ("https://r.example:5000", "r.example:5000"),
        ("https://r.example:5000/v1/", "r.example:5000"),
        ("R.Example", "r.example"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("r.example:443", "r.example"),
    ],
)
def test_a_docker_config_entry_for_the_host_is_used(key: str, host: str) -> None:
    pair = base64.b64encode(b"u:p:with:colons").decode()
    auth = _docker({"other.example": {"username": "x", "password": "y"}, key: {"auth": pair}})

    found = Credentials.from_secrets(auth, None, host)

    assert (found.username, found.password) == ("u", "p:with:colons")


def test_a_docker_config_without_the_host_is_refused() -> None:
    auth = _docker({"other.example": {"username": "x", "password": "y"}})

    with pytest.raises(OciError, match=r"no username and password for r\.example") as caught:
        Credentials.from_secrets(auth, None, "r.example")
    assert caught.value.reason == "InvalidSecret"


@pytest.mark.parametrize(
    ("auth", "certs", "message"),
    [
        ({"username": "!!notbase64"}, None, "neither username"),
        ({"username": "!!", "password": "!!"}, None, "not valid base64"),
        ({".dockerconfigjson": base64.b64encode(b"{nope").decode()}, None, "not valid JSON"),
        ({".dockerconfigjson": base64.b64encode(b"[]").decode()}, None, "has no auths"),
        (_data(username="u:x", password="p"), None, "must not contain ':'"),
        (_data(username="u", password="p\r\nX-Evil: 1"), None, "control characters"),
        (None, _data(tls_crt="cert"), "only one of tls.crt and tls.key"),
        (None, _data(other="x"), "no ca.crt"),
    ],
)
def test_bad_secrets_are_refused_clearly(
    auth: dict[str, str] | None, certs: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(OciError, match=message) as caught:
        Credentials.from_secrets(auth, certs, "r.example")
    assert caught.value.reason == "InvalidSecret"
    assert "p\r\n" not in str(caught.value)


def test_certificates() -> None:
    found = Credentials.from_secrets(
        None, _data(ca_crt="CA", tls_crt="CERT", tls_key="KEY"), "r.example"
    )

    assert (found.ca_pem, found.cert_pem, found.key_pem) == (b"CA", b"CERT", b"KEY")


def test_secret_values_cover_every_spelling_of_the_password() -> None:
    found = Credentials(username="u", password="hunter2", key_pem=b"KEYDATA")

    values = found.secret_values()

    assert "hunter2" in values
    assert base64.b64encode(b"u:hunter2").decode() in values
    assert "KEYDATA" in values
    assert "hunter2" not in repr(found)
