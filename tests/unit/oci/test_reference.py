"""Repository references: one spelling per repository, every hostile spelling refused."""

from __future__ import annotations

import pytest

from landlord.oci import reference
from landlord.oci.reference import InvalidReferenceError, Repository


@pytest.mark.parametrize(
    ("url", "host", "path", "canonical"),
    [
        ("oci://registry.example.com/team/app", "registry.example.com", "team/app", None),
        (
            "OCI://Registry.Example.COM/team/app",
            "registry.example.com",
            "team/app",
            "oci://registry.example.com/team/app",
        ),
        (
            "oci://registry.example.com.:443/team/app",
            "registry.example.com",
            "team/app",
            "oci://registry.example.com/team/app",
        ),
        ("oci://127.0.0.1:5000/a", "127.0.0.1:5000", "a", None),
        ("oci://2130706433:5000/a", "127.0.0.1:5000", "a", "oci://127.0.0.1:5000/a"),
        ("oci://0x7f.1:5000/a", "127.0.0.1:5000", "a", "oci://127.0.0.1:5000/a"),
        ("oci://[::1]:5000/a/b", "[::1]:5000", "a/b", None),
        ("oci://[0:0:0:0:0:0:0:1]/a", "[::1]", "a", "oci://[::1]/a"),
        ("oci://[::ffff:127.0.0.1]:5000/a", "127.0.0.1:5000", "a", "oci://127.0.0.1:5000/a"),
        ("oci://ghcr.io/org/repo-name_x/sub.part", "ghcr.io", "org/repo-name_x/sub.part", None),
        ("oci://bücher.example/a", "xn--bcher-kva.example", "a", "oci://xn--bcher-kva.example/a"),
    ],
)
def test_urls_have_one_spelling(url: str, host: str, path: str, canonical: str | None) -> None:
    parsed = Repository.parse(url)

    assert (parsed.host, parsed.path) == (host, path)
    assert parsed.url == (canonical or url)
    assert Repository.parse(parsed.url) == parsed  # the spelling is a fixed point


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://registry.example.com/a", "starts with oci://"),
        ("registry.example.com/a", "starts with oci://"),
        ("oci://registry.example.com", "names no repository"),
        ("oci://registry.example.com/", "names no repository"),
        ("oci://user:hunter2@registry.example.com/a", "must not carry credentials"),
        ("oci://registry.example.com/a:v1", "must not carry a tag"),
        ("oci://registry.example.com/a@sha256:" + "0" * 64, "must not carry a digest"),
        ("oci://registry.example.com/a?x=1", "no query or fragment"),
        ("oci://registry.example.com/a#frag", "no query or fragment"),
        ("oci://registry.example.com/team/../app", "is not valid"),
        ("oci://registry.example.com/team//app", "is not valid"),
        ("oci://registry.example.com/Team/App", "is not valid"),
        ("oci://registry.example.com/team/%61pp", "is not valid"),
        ("oci://registry.example.com/-app", "is not valid"),
        ("oci://registry.example.com/app/", "is not valid"),
        ("oci://registry.example.com:99999/app", "port is not valid"),
        ("oci://registry.example.com:/app", "names no repository|port"),
        ("oci://[::1%25eth0]/app", "IPv6"),
        ("oci://reg istry.example.com/app", "whitespace"),
        ("oci://registry.example.com\\@evil/app", "backslash"),
        ("oci://registry.example.com/" + "a" * 300, "longer than"),
    ],
)
def test_hostile_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=message):
        Repository.parse(url)


def test_a_refusal_never_shows_the_password() -> None:
    for url in ("oci://user:hunter2@host.example/a", "oci://user:hunter2@host.example"):
        with pytest.raises(InvalidReferenceError) as caught:
            Repository.parse(url)
        assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "host", "path"),
    [
        ("nginx", "docker.io", "library/nginx"),
        ("team/app", "docker.io", "team/app"),
        ("docker.io/nginx", "docker.io", "library/nginx"),
        ("index.docker.io/team/app", "docker.io", "team/app"),
        ("localhost/app", "localhost", "app"),
        ("localhost:5000/app", "localhost:5000", "app"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app"),
        ("Registry.Example.com:443/app", "registry.example.com", "app"),
        ("ghcr.io/org/app", "ghcr.io", "org/app"),
    ],
)
def test_image_names_are_normalised(name: str, host: str, path: str) -> None:
    repository = Repository.image(name)

    assert (repository.host, repository.path) == (host, path)


@pytest.mark.parametrize(
    "name",
    [
        "oci://ghcr.io/app",
        "ghcr.io/app:1.0",
        "ghcr.io/app@sha256:" + "a" * 64,
        "ghcr.io/App",
        "user:pw@ghcr.io/app",
        "",
    ],
)
def test_image_names_with_more_than_a_name_are_refused(name: str) -> None:
    with pytest.raises(InvalidReferenceError):
        Repository.image(name)


def test_ports() -> None:
    assert Repository.parse("oci://a.example/x").port == 443
    assert Repository.parse("oci://a.example:5000/x").port == 5000
    assert Repository.parse("oci://[::1]:5000/x").port == 5000
    assert Repository.parse("oci://[::1]/x").port == 443
    assert Repository.parse("oci://[::1]:5000/x").hostname == "::1"


@pytest.mark.parametrize(
    ("image", "split"),
    [
        ("host/app:1.2", ("host/app", "1.2")),
        ("host:5000/app:1.2", ("host:5000/app", "1.2")),
        ("host:5000/app", ("host:5000/app", None)),
        ("app", ("app", None)),
        ("app:latest", ("app", "latest")),
        ("host/app:1.2@sha256:" + "a" * 64, ("host/app", "1.2")),
        ("oci://host:5000/app:v1", ("oci://host:5000/app", "v1")),
    ],
)
def test_split_tag(image: str, split: tuple[str, str | None]) -> None:
    assert reference.split_tag(image) == split


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("v1.2.3", True),
        ("_x", True),
        ("a" * 128, True),
        ("a" * 129, False),
        (".x", False),
        ("-x", False),
        ("x/y", False),
        ("x y", False),
        ("", False),
        ("1.0+build", False),
    ],
)
def test_tags(tag: str, valid: bool) -> None:
    assert reference.valid_tag(tag) is valid
