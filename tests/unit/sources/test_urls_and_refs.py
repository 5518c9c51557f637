"""Source URLs and refs: only plain remotes of allowed schemes, only valid ref names."""

from __future__ import annotations

import pytest

from landlord.git import urls
from landlord.sources import refs

ALLOWED = ["https", "ssh"]


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/team/repo.git",
        "ssh://git@git.example.com/team/repo.git",
        "https://user:token@git.example.com/repo.git",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert urls.validate_url(url, ALLOWED).hostname == "git.example.com"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://git.example.com/repo.git", "scheme 'http' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ext::sh -c touch% /tmp/pwned", "whitespace"),
        ("ext::sh", "remote helpers"),
        ("--upload-pack=touch /tmp/pwned", "must not start with '-'"),
        ("-uhttps://git.example.com/x.git", "must not start with '-'"),
        ("https://git.example.com/re po.git", "whitespace"),
        ("https:///no-host.git", "no host"),
        ("ssh://-oProxyCommand=touch@x/y.git", "user must not start"),
        ("ssh://-oProxyCommand=x/y.git", "host must not start"),
        ("git.example.com:team/repo.git", "scheme"),
    ],
)
def test_refused_urls(url: str, complaint: str) -> None:
    with pytest.raises(urls.InvalidSourceError, match=complaint):
        urls.validate_url(url, ALLOWED)


def test_http_only_when_listed() -> None:
    assert urls.validate_url("http://127.0.0.1:8080/x.git", [*ALLOWED, "http"]).port == 8080


def test_redaction_removes_userinfo_and_known_secrets() -> None:
    text = "fatal: https://bob:hunter2@git.example.com/x.git denied (token abc123xyz)"

    cleaned = urls.redact(text, ["abc123xyz"])

    assert "hunter2" not in cleaned
    assert "bob" not in cleaned
    assert "abc123xyz" not in cleaned
    assert "https://***@git.example.com/x.git" in cleaned


def test_credentials_are_split_from_the_url() -> None:
    url = "https://bob:p%40ss@git.example.com:8443/x.git"

    assert urls.url_credentials(url) == ("bob", "p@ss")
    assert urls.strip_credentials(url) == "https://git.example.com:8443/x.git"


def test_no_ref_means_main() -> None:
    assert refs.Ref.from_spec(None) == refs.Ref(branch="main")


@pytest.mark.parametrize(
    "spec",
    [
        {"branch": "-f"},
        {"branch": "a..b"},
        {"branch": "a b"},
        {"tag": "v1~1"},
        {"branch": "x.lock"},
        {"branch": "/abs"},
        {"branch": "feature/.hidden"},
        {"commit": "abc"},
        {"commit": "--upload-pack=x"},
        {"semver": "not a range"},
        {"bogus": "x"},
    ],
)
def test_invalid_refs_are_refused(spec: dict[str, str]) -> None:
    with pytest.raises(urls.InvalidSourceError):
        refs.Ref.from_spec(spec)


def test_precedence_and_revision_names() -> None:
    sha = "a" * 40
    assert refs.Ref.from_spec({"branch": "main", "tag": "v1"}).tag == "v1"
    assert refs.Ref.from_spec({"branch": "main"}).revision(sha) == f"main@sha1:{sha}"
    assert refs.Ref.from_spec({"commit": sha}).revision(sha) == f"sha1:{sha}"
    assert refs.Ref.from_spec({"semver": "^1"}).revision(sha, tag="v1.2.0") == (
        f"v1.2.0@sha1:{sha}"
    )
