"""One spelling per source URL: what the policy decides on is what Git fetches."""

from __future__ import annotations

import pytest

from landlord.git import urls


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        # scheme and host case, trailing dots, default ports
        ("HTTPS://EVIL.example.:443/a/../b", "https://evil.example/b"),
        ("https://Git.Example.COM/Team/Repo.git", "https://git.example.com/Team/Repo.git"),
        ("https://git.example.com../x.git", "https://git.example.com/x.git"),
        ("http://git.example.com:80/x.git", "http://git.example.com/x.git"),
        ("ssh://git@git.example.com:22/x.git", "ssh://git.example.com/x.git"),
        ("https://git.example.com:0443/x.git", "https://git.example.com/x.git"),
        ("https://git.example.com:8443/x.git", "https://git.example.com:8443/x.git"),
        ("ssh://git.example.com:443/x.git", "ssh://git.example.com:443/x.git"),
        # path: dot segments, duplicate slashes, escapes
        ("https://h.example/a/./b/../c.git", "https://h.example/a/c.git"),
        ("https://h.example/../../etc/x.git", "https://h.example/etc/x.git"),
        ("https://h.example//team///repo.git", "https://h.example/team/repo.git"),
        ("https://h.example/%61%62c/%2e%2e/x.git", "https://h.example/x.git"),
        ("https://h.example/%7e%2D%5F/x.git", "https://h.example/~-_/x.git"),
        ("https://h.example/a%3ab/x.git", "https://h.example/a%3Ab/x.git"),
        ("https://h.example/a/", "https://h.example/a/"),
        ("https://h.example/a/b/..", "https://h.example/a/"),
        ("https://h.example", "https://h.example/"),
        # userinfo never reaches the canonical form
        ("https://bob:hunter2@h.example/x.git", "https://h.example/x.git"),
        ("https://token@h.example/x.git", "https://h.example/x.git"),
        # addresses: numeric IPv4 spellings, IPv6 forms, IPv4-mapped IPv6
        ("http://2130706433:8080/x.git", "http://127.0.0.1:8080/x.git"),
        ("http://0x7f.1/x.git", "http://127.0.0.1/x.git"),
        ("http://0177.0.0.1/x.git", "http://127.0.0.1/x.git"),
        ("http://127.1/x.git", "http://127.0.0.1/x.git"),
        ("http://169.254.169.254./x.git", "http://169.254.169.254/x.git"),
        ("http://[::FFFF:127.0.0.1]/x.git", "http://127.0.0.1/x.git"),
        ("http://[0:0:0:0:0:0:0:1]:8080/x.git", "http://[::1]:8080/x.git"),
        ("https://[2001:DB8::1]:443/x.git", "https://[2001:db8::1]/x.git"),
        # internationalised names: punycode (and NFKC, so fullwidth letters fold)
        ("https://bücher.example/x.git", "https://xn--bcher-kva.example/x.git"),
        ("https://\uff45\uff56\uff49\uff4c.example/x.git", "https://evil.example/x.git"),
        ("https://evil%2eexample/x.git", "https://evil.example/x.git"),
    ],
)
def test_one_spelling_per_url(written: str, canonical: str) -> None:
    assert urls.normalise(written).url == canonical


def test_normalising_twice_changes_nothing() -> None:
    once = urls.normalise("HTTPS://u:p@EVIL.example.:443/a/..//b/%7e/").url
    assert urls.normalise(once).url == once


def test_the_ssh_login_name_is_kept_for_the_fetch_only() -> None:
    source = urls.normalise("ssh://Git@Git.Example.com:2222/x.git")

    assert source.url == "ssh://git.example.com:2222/x.git"
    assert source.fetch_url == "ssh://Git@git.example.com:2222/x.git"
    assert (source.host, source.port, source.user) == ("git.example.com", 2222, "Git")


def test_an_https_password_is_split_off_as_credentials() -> None:
    source = urls.normalise("https://bob:p%40ss@h.example/x.git")

    assert (source.user, source.password) == ("bob", "p@ss")
    assert "p@ss" not in source.fetch_url
    assert "p@ss" not in repr(source)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://h.example/x.git?ref=main", "no query or fragment"),
        ("https://h.example/x.git#main", "no query or fragment"),
        ("https://h.example/x.git?", "no query or fragment"),
        ("https://h.example\\@other.example/x.git", "backslash"),
        ("https://h.example/a%2F..%2Fb.git", "escaped '%2F'"),
        ("https://h.example/a%5cb.git", "escaped '%5c'"),
        ("https://h.example/a%00.git", "escaped '%00'"),
        ("https://[fe80::1%25eth0]/x.git", "zone"),
        ("https://[not-v6]/x.git", "IPv6"),
        ("https://h.example:99999/x.git", "port"),
        ("https://h.example:x/x.git", "port"),
        ("https://h..example/x.git", "not a valid name"),
        ("https://h.example%2f.evil/x.git", "not a valid name"),
        ("https://0x1ffffffff/x.git", "not a valid IPv4"),
        ("git.example.com:team/repo.git", "no scheme or host"),
    ],
)
def test_urls_without_one_spelling_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(urls.InvalidSourceError, match=complaint):
        urls.normalise(url)
