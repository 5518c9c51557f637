"""A registry that lies: what the OCI client must never believe, fetch, send or show.

Each case is a hostile registry (a Python HTTP server on loopback, TLS where it
matters) answering the distribution API its own way: bodies over the caps,
bytes that do not match their digest, redirects and pages to addresses the
check refuses, token realms elsewhere, error bodies that echo the credentials,
a byte every second. No control plane: the client alone decides all of it.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from landlord.demo.registry import Pki
from landlord.git import network
from landlord.oci import client, reference

USER = "tenant"
PASSWORD = "Registry-Pa55word"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

Route = Callable[["_Handler"], None]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _route(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        path = self.path.partition("?")[0]
        route = self.server.routes.get(path) or self.server.routes.get("*")
        if route is None:
            self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return
        route(self)

    def do_GET(self) -> None:
        self._route()

    def do_HEAD(self) -> None:
        self._route()

    def do_PUT(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def answer(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if not length:
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls: Pki | None, *, mtls: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        self.scheme = "http"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.serving_file, tls.serving_key_file)
            if mtls:
                context.load_verify_locations(cadata=tls.ca_pem.decode())
                context.verify_mode = ssl.CERT_REQUIRED
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    def handle_error(self, request: Any, client_address: Any) -> None:
        return

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}{path}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("hostile-pki"))


@pytest.fixture
def servers(pki: Pki) -> Iterator[Callable[..., _Server]]:
    started: list[_Server] = []

    def start(*, tls: bool = False, mtls: bool = False) -> _Server:
        server = _Server(pki if tls else None, mtls=mtls)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


class _Checks:
    """The check: records every URL; refuses those on a refused port."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.refused_ports: set[int] = set()

    def __call__(self, url: str) -> network.Resolution | None:
        self.urls.append(url)
        port = urllib.parse.urlsplit(url).port
        if port in self.refused_ports:
            raise network.BlockedAddressError(url, "refused by the test")
        return None


def _client(
    server: _Server,
    checks: _Checks | None = None,
    *,
    pki: Pki | None = None,
    timeout: float = 5,
    **options: Any,
) -> client.Client:
    return client.Client(
        reference.Repository(server.host, "team/app"),
        credentials=client.Credentials(USER, PASSWORD, ca_pem=pki.ca_pem if pki else None),
        check=checks or _Checks(),
        timeout=timeout,
        insecure=server.scheme == "http",
        **options,
    )


def _leaks(error: BaseException) -> bool:
    text = str(error) + repr(error.args)
    return PASSWORD in text or BASIC.split()[1] in text


def _manifest(layer: bytes = b"layer", size: int | None = None) -> bytes:
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": client.OCI_MANIFEST,
            "config": {"mediaType": "x", "digest": digest, "size": len(layer)},
            "layers": [
                {"mediaType": "x", "digest": digest, "size": len(layer) if size is None else size}
            ],
        }
    ).encode()


def _basic_auth(route: Route) -> Route:
    """Basic auth in front of ``route``; the error body echoes what it was sent."""

    def guarded(handler: _Handler) -> None:
        sent = handler.headers.get("Authorization") or ""
        if sent != BASIC:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": sent}]}).encode()
            handler.answer(401, body, {"WWW-Authenticate": f'Basic realm="{sent}"'})
            return
        route(handler)

    return guarded


# -- caps ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "close-delimited"])
def test_a_manifest_over_the_cap_is_refused(servers: Callable[..., _Server], length: bool) -> None:
    server = servers()
    huge = b'{"schemaVersion":2,"pad":"' + b"x" * 100_000 + b'"}'
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(200, huge, length=length)

    with pytest.raises(client.OciError) as caught:
        _client(server, max_manifest_bytes=10_000).manifest("v1")

    assert caught.value.reason == "ArtifactTooLarge"


def test_a_tag_list_that_pages_forever_is_stopped(servers: Callable[..., _Server]) -> None:
    server = servers()
    page = json.dumps({"tags": ["a", "b"]}).encode()
    server.routes["/v2/team/app/tags/list"] = lambda h: h.answer(
        200, page, {"Link": '</v2/team/app/tags/list?n=2&last=b>; rel="next"'}
    )

    with pytest.raises(client.OciError) as caught:
        _client(server).tags(limit=5)

    assert caught.value.reason == "TooManyTags"
    assert len(server.seen) <= 7


def test_tags_no_registry_could_hold_are_dropped(servers: Callable[..., _Server]) -> None:
    server = servers()
    tags = ["1.0.0", "../../etc", "x" * 200, "a b", "\u202eevil", 7, None, "1.0.0", "ok_2"]
    body = json.dumps({"name": "team/app", "tags": tags}).encode()
    server.routes["/v2/team/app/tags/list"] = lambda h: h.answer(200, body)

    assert _client(server).tags(limit=100) == ["1.0.0", "ok_2"]


# A header built to make a backtracking regex quadratic: one 60 KB line costs a
# backtracking parser 10-25 s holding the GIL (every other tenant's reconcile
# stops), and http.client joins up to 100 such lines into one value.
HOSTILE_LINK = "<>;" + "<" * 60_000
HOSTILE_CHALLENGE = "Bearer " + "a" * 60_000


def test_a_link_header_built_to_backtrack_is_refused_at_once(
    servers: Callable[..., _Server],
) -> None:
    server = servers()
    server.routes["/v2/team/app/tags/list"] = lambda h: h.answer(
        200, b'{"tags":["a"]}', {"Link": HOSTILE_LINK}
    )
    started = time.monotonic()

    with pytest.raises(client.OciError, match="Link header longer than"):
        _client(server).tags(limit=10)

    assert time.monotonic() - started < 2


def test_a_challenge_built_to_backtrack_is_refused_at_once(
    servers: Callable[..., _Server],
) -> None:
    server = servers()
    server.routes["/v2/team/app/tags/list"] = lambda h: h.answer(
        401, b"", {"WWW-Authenticate": HOSTILE_CHALLENGE}
    )
    started = time.monotonic()

    with pytest.raises(client.OciError, match="challenge longer than") as caught:
        _client(server).tags(limit=10)

    assert caught.value.reason == "AuthenticationFailed"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ('</v2/team/app/tags/list?last=b>; rel="next"', "/v2/team/app/tags/list?last=b"),
        ('</prev>; rel="prev", </next>; rel=next', "/next"),
        ('</a>; title=x; REL="next"', "/a"),
        ("</a> rel=next", None),
        ('</a>; rel="prev"', None),
        ("<>;" + "<" * 8_000, None),
    ],
)
def test_link_entries_are_read_in_one_pass(link: str, target: str | None) -> None:
    started = time.monotonic()
    assert client._link_next(link) == target
    assert time.monotonic() - started < 0.5


# -- digests and sizes -----------------------------------------------------------------


def test_a_manifest_that_is_not_its_digest_is_refused(servers: Callable[..., _Server]) -> None:
    server = servers()
    body = _manifest()
    wanted = "sha256:" + "0" * 64
    server.routes[f"/v2/team/app/manifests/{wanted}"] = lambda h: h.answer(200, body)

    with pytest.raises(client.OciError) as caught:
        _client(server).manifest(wanted)

    assert caught.value.reason == "DigestMismatch"


def test_a_registry_lying_about_a_tags_digest_is_refused(
    servers: Callable[..., _Server],
) -> None:
    server = servers()
    body = _manifest()
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(
        200, body, {"Docker-Content-Digest": "sha256:" + "1" * 64}
    )

    with pytest.raises(client.OciError) as caught:
        _client(server).manifest("v1")

    assert caught.value.reason == "DigestMismatch"


@pytest.mark.parametrize(
    ("served", "length", "message"),
    [
        (b"other", True, "does not match its digest"),
        (b"layer-and-more", False, "larger than the 5 bytes"),
        (b"layer-and-more", True, "14 bytes, not the 5"),
        (b"lay", False, "ended after 3 of 5 bytes"),
    ],
    ids=["wrong-bytes", "more-bytes", "wrong-length", "fewer-bytes"],
)
def test_a_blob_that_is_not_its_descriptor_is_refused(
    servers: Callable[..., _Server], served: bytes, length: bool, message: str
) -> None:
    server = servers()
    descriptor = client.Descriptor("x", "sha256:" + hashlib.sha256(b"layer").hexdigest(), 5)
    server.routes[f"/v2/team/app/blobs/{descriptor.digest}"] = lambda h: h.answer(
        200, served, length=length
    )
    sink = io.BytesIO()

    with pytest.raises(client.OciError, match=message) as caught:
        _client(server).fetch_blob(descriptor, sink, max_bytes=100)

    assert caught.value.reason == "DigestMismatch"
    assert len(sink.getvalue()) <= 5  # never more than the descriptor's size is written


@pytest.mark.parametrize(
    "layers",
    [
        [{"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": -1}],
        [{"mediaType": "x", "digest": "md5:abc", "size": 1}],
        [{"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": True}],
        [{"mediaType": "x", "digest": "sha256:../../x", "size": 1}],
        [{"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 1, "annotations": [1]}],
        "not-a-list",
    ],
)
def test_a_malformed_manifest_is_invalid(servers: Callable[..., _Server], layers: object) -> None:
    server = servers()
    document = json.loads(_manifest())
    document["layers"] = layers
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(
        200, json.dumps(document).encode()
    )

    with pytest.raises(client.OciError) as caught:
        _client(server).manifest("v1")

    assert caught.value.reason == "InvalidArtifact"


@pytest.mark.parametrize(
    "document",
    [{"schemaVersion": 2, "mediaType": 5}, {"mediaType": "text/html"}, [1, 2], "manifest"],
)
def test_what_is_not_a_manifest_is_invalid(
    servers: Callable[..., _Server], document: object
) -> None:
    server = servers()
    body = json.dumps(document).encode()
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(200, body)

    with pytest.raises(client.OciError) as caught:
        _client(server).manifest("v1")

    assert caught.value.reason == "InvalidArtifact"


def test_an_index_pointing_at_an_index_is_invalid(servers: Callable[..., _Server]) -> None:
    server = servers()
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": client.OCI_INDEX}
    body = json.dumps(index).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    index["manifests"] = [
        {
            "digest": digest,
            "mediaType": client.OCI_INDEX,
            "size": 1,
            "platform": {"os": "linux", "architecture": "amd64"},
        }
    ]
    inner = body  # the entry's digest names an index too (one without entries)
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(200, json.dumps(index).encode())
    server.routes[f"/v2/team/app/manifests/{digest}"] = lambda h: h.answer(200, inner)

    with pytest.raises(client.OciError, match="itself an index") as caught:
        _client(server).manifest("v1")

    assert caught.value.reason == "InvalidArtifact"


# -- where the client goes -------------------------------------------------------------


def test_a_redirect_to_a_refused_address_is_never_followed(
    servers: Callable[..., _Server],
) -> None:
    registry, blocked = servers(), servers()
    descriptor = client.Descriptor("x", "sha256:" + hashlib.sha256(b"layer").hexdigest(), 5)
    registry.routes[f"/v2/team/app/blobs/{descriptor.digest}"] = lambda h: h.answer(
        307, headers={"Location": blocked.url("/metadata?sig=1")}
    )
    checks = _Checks()
    checks.refused_ports.add(blocked.server_address[1])

    with pytest.raises(network.BlockedAddressError):
        _client(registry, checks).fetch_blob(descriptor, io.BytesIO(), max_bytes=100)

    assert blocked.seen == []  # no connection was made
    assert checks.urls[-1] == blocked.url("/metadata?sig=1")  # the hop was decided


def test_credentials_never_follow_a_redirect_to_another_host(
    servers: Callable[..., _Server],
) -> None:
    registry, storage = servers(), servers()
    descriptor = client.Descriptor("x", "sha256:" + hashlib.sha256(b"layer").hexdigest(), 5)
    registry.routes[f"/v2/team/app/blobs/{descriptor.digest}"] = _basic_auth(
        lambda h: h.answer(307, headers={"Location": storage.url("/blob?sig=1")})
    )
    storage.routes["/blob"] = lambda h: h.answer(200, b"layer")
    sink = io.BytesIO()

    _client(registry).fetch_blob(descriptor, sink, max_bytes=100)

    assert sink.getvalue() == b"layer"
    assert registry.seen[-1][2] == BASIC  # the registry itself got them
    assert storage.seen == [("GET", "/blob?sig=1", None)]  # the blob store did not


@pytest.mark.parametrize("target", ["http", "file"])
def test_a_tls_registry_never_redirects_to_plain_http(
    servers: Callable[..., _Server], pki: Pki, target: str
) -> None:
    registry, plain = servers(tls=True), servers()
    descriptor = client.Descriptor("x", "sha256:" + hashlib.sha256(b"layer").hexdigest(), 5)
    location = plain.url("/blob") if target == "http" else "file:///etc/passwd"
    registry.routes[f"/v2/team/app/blobs/{descriptor.digest}"] = lambda h: h.answer(
        302, headers={"Location": location}
    )
    checks = _Checks()

    with pytest.raises(client.OciError, match="only https is followed"):
        _client(registry, checks, pki=pki).fetch_blob(descriptor, io.BytesIO(), max_bytes=100)

    assert plain.seen == []
    assert len(checks.urls) == 1  # the refused hop was not even looked up


def test_a_tag_page_on_another_host_is_refused(servers: Callable[..., _Server]) -> None:
    registry, other = servers(), servers()
    registry.routes["/v2/team/app/tags/list"] = lambda h: h.answer(
        200, b'{"tags":["a"]}', {"Link": f'<{other.url("/v2/team/app/tags/list")}>; rel="next"'}
    )

    with pytest.raises(client.OciError, match="another host"):
        _client(registry).tags(limit=10)

    assert other.seen == []


def test_an_upload_location_on_another_host_gets_nothing(
    servers: Callable[..., _Server],
) -> None:
    registry, other = servers(), servers()
    registry.routes["/v2/team/app/blobs/uploads/"] = _basic_auth(
        lambda h: h.answer(202, headers={"Location": other.url("/upload/1")})
    )

    with pytest.raises(client.OciError, match="another host"):
        _client(registry).push_blob(b"data", "x")

    assert other.seen == []


# -- token realms ----------------------------------------------------------------------


def _bearer_registry(server: _Server, realm: str) -> None:
    token = "good-token"

    def manifest(handler: _Handler) -> None:
        if handler.headers.get("Authorization") != f"Bearer {token}":
            handler.answer(
                401,
                b"",
                {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg",scope="x"'},
            )
            return
        handler.answer(200, _manifest())

    server.routes["/v2/team/app/manifests/v1"] = manifest


def test_a_token_realm_elsewhere_is_checked_and_gets_the_credentials(
    servers: Callable[..., _Server],
) -> None:
    registry, realm = servers(), servers()
    _bearer_registry(registry, realm.url("/token"))
    realm.routes["/token"] = lambda h: h.answer(200, b'{"token": "good-token"}')
    checks = _Checks()

    _client(registry, checks).manifest("v1")

    # Docker's token spec: the realm authenticates; it was decided like any URL first.
    assert any(url.startswith(realm.url("/token")) for url in checks.urls)
    (request,) = realm.seen
    assert request[2] == BASIC
    assert "scope=repository%3Ateam%2Fapp%3Apull" in request[1]
    assert registry.seen[-1][2] == "Bearer good-token"


def test_a_refused_token_realm_is_never_contacted(servers: Callable[..., _Server]) -> None:
    registry, realm = servers(), servers()
    _bearer_registry(registry, realm.url("/token"))
    checks = _Checks()
    checks.refused_ports.add(realm.server_address[1])

    with pytest.raises(network.BlockedAddressError):
        _client(registry, checks).manifest("v1")

    assert realm.seen == []


def test_a_plain_http_realm_of_a_tls_registry_is_refused(
    servers: Callable[..., _Server], pki: Pki
) -> None:
    registry, realm = servers(tls=True), servers()
    _bearer_registry(registry, realm.url("/token"))

    with pytest.raises(client.OciError, match="plain http") as caught:
        _client(registry, pki=pki).manifest("v1")

    assert caught.value.reason == "AuthenticationFailed"
    assert realm.seen == []  # the credentials never crossed in clear


@pytest.mark.parametrize(
    "answer",
    [b'{"token": "bad\\r\\nX-Injected: 1"}', b'{"token": 7}', b"not json", b"{}"],
)
def test_an_unusable_token_is_refused(servers: Callable[..., _Server], answer: bytes) -> None:
    registry, realm = servers(), servers()
    _bearer_registry(registry, realm.url("/token"))
    realm.routes["/token"] = lambda h: h.answer(200, answer)

    with pytest.raises(client.OciError, match="no usable token") as caught:
        _client(registry).manifest("v1")

    assert caught.value.reason == "AuthenticationFailed"


def test_a_realm_with_credentials_in_its_url_is_refused(
    servers: Callable[..., _Server],
) -> None:
    registry, realm = servers(), servers()
    _bearer_registry(registry, f"http://evil:pw@{realm.host}/token")

    with pytest.raises(client.OciError, match="credentials in its URL"):
        _client(registry).manifest("v1")

    assert realm.seen == []


# -- no secret in any message ----------------------------------------------------------


def test_no_message_holds_the_credentials(servers: Callable[..., _Server]) -> None:
    """Every failure path with a server echoing the Authorization it got, in body and headers."""
    server = servers()

    def echo(handler: _Handler) -> None:
        sent = handler.headers.get("Authorization") or ""
        body = json.dumps({"errors": [{"code": sent, "message": sent}]}).encode()
        handler.answer(500, body, {"X-Echo": sent, "Location": f"http://{sent}@x/"})

    server.routes["/v2/team/app/manifests/v1"] = _basic_auth(echo)
    server.routes["/v2/team/app/tags/list"] = _basic_auth(
        lambda h: h.answer(
            200,
            b'{"tags":[]}',
            {"Link": f'<http://{USER}:{PASSWORD}@elsewhere/v2/team/app/tags/list>; rel="next"'},
        )
    )
    server.routes["/v2/team/app/manifests/v2"] = _basic_auth(
        lambda h: h.answer(401, b"", {"WWW-Authenticate": f'Basic realm="{PASSWORD}"'})
    )
    registry = _client(server)
    failures: list[client.OciError] = []
    calls: list[Callable[[], object]] = [
        lambda: registry.manifest("v1"),
        lambda: registry.tags(limit=10),
        lambda: registry.manifest("v2"),
    ]
    for call in calls:
        with pytest.raises(client.OciError) as caught:
            call()
        failures.append(caught.value)

    assert [failure.reason for failure in failures] == [
        "FetchFailed",
        "FetchFailed",
        "AuthenticationFailed",
    ]
    assert not any(_leaks(failure) for failure in failures)
    assert server.seen[1][2] == BASIC  # the credentials were really in play


# -- time ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_registry_that_drips_is_cut_at_the_timeout(
    servers: Callable[..., _Server], where: str
) -> None:
    server = servers()
    descriptor = client.Descriptor("x", "sha256:" + hashlib.sha256(b"x" * 1000).hexdigest(), 1000)

    def drip(handler: _Handler) -> None:
        if where == "headers":
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100):
                handler.wfile.write(b"X-Slow: 1\r\n")
                handler.wfile.flush()
                time.sleep(0.2)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.2)

    server.routes[f"/v2/team/app/blobs/{descriptor.digest}"] = drip
    began = time.monotonic()

    with pytest.raises(client.OciError, match="took longer than the timeout") as caught:
        _client(server, timeout=1.5).fetch_blob(descriptor, io.BytesIO(), max_bytes=10_000)

    assert caught.value.reason == "Timeout"
    assert time.monotonic() - began < 4


def test_the_client_certificate_is_presented(servers: Callable[..., _Server], pki: Pki) -> None:
    """A registry asking for a client certificate gets the certSecretRef's tls.crt and key."""
    server = servers(tls=True, mtls=True)
    server.routes["/v2/team/app/manifests/v1"] = lambda h: h.answer(200, _manifest())
    with_certificate = client.Client(
        reference.Repository(server.host, "team/app"),
        credentials=client.Credentials(
            ca_pem=pki.ca_pem, cert_pem=pki.client_pem, key_pem=pki.client_key_pem
        ),
        check=_Checks(),
        timeout=5,
    )

    assert with_certificate.manifest("v1").layers
    with pytest.raises(client.OciError) as caught:
        _client(server, pki=pki).manifest("v1")
    assert caught.value.reason == "FetchFailed"


@pytest.mark.parametrize("broken", ["ca", "key"])
def test_an_unusable_certificate_secret_is_invalid_and_not_shown(
    servers: Callable[..., _Server], pki: Pki, broken: str
) -> None:
    server = servers(tls=True)
    secret = b"-----BEGIN PRIVATE KEY-----\nS3CRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    credentials = client.Credentials(
        ca_pem=b"not a certificate" if broken == "ca" else pki.ca_pem,
        cert_pem=pki.client_pem if broken == "key" else None,
        key_pem=secret if broken == "key" else None,
    )
    broken_client = client.Client(
        reference.Repository(server.host, "team/app"),
        credentials=credentials,
        check=_Checks(),
        timeout=5,
    )

    with pytest.raises(client.OciError) as caught:
        broken_client.manifest("v1")

    assert caught.value.reason == "InvalidSecret"
    assert "S3CRETKEYMATERIAL" not in str(caught.value)
    assert server.seen == []
