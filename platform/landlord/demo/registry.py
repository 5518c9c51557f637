"""``Registry``: a real OCI registry (distribution v3) on 127.0.0.1, for the demo and the tests.

It runs the ``registry`` binary that ``landlord cluster build`` builds, with a
generated configuration: filesystem storage under ``root``, deletes enabled,
TLS from a CA made here (the serving certificate is valid for 127.0.0.1 and
localhost; :attr:`Registry.ca_pem` is what a client must trust), and either
htpasswd (bcrypt) users or — ``token_auth=True`` — Docker's token
authentication, the tokens signed by a small token service on loopback
(:class:`TokenServer`) with an EC key made here. Every request is counted from
the registry's own access log (:meth:`Registry.requests`), so a test can prove
a denied registry was never contacted.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import http.client
import http.server
import io
import ipaddress
import json
import os
import pathlib
import re
import secrets
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from landlord.git import network
from landlord.oci import artifact, client, reference

_ACCESS = re.compile(r'"([A-Z]+) (/v2/\S*) HTTP/[0-9.]+" (\d{3}) ')
_REPO = re.compile(r"/v2/(.+?)/(?:manifests|blobs|tags)/")
SERVICE = "landlord-registry"
ISSUER = "landlord-token-service"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Pki:
    """A CA, a serving certificate for 127.0.0.1/localhost, and a client certificate."""

    def __init__(self, folder: pathlib.Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "landlord-registry-ca")])
        ca = (
            _builder(ca_name, ca_name, ca_key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM)

        def leaf(
            common_name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]
        ) -> tuple[bytes, bytes]:
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
            builder = (
                _builder(name, ca_name, key.public_key(), now)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            )
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            cert = builder.sign(ca_key, hashes.SHA256())
            return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

        self.serving_pem, self.serving_key_pem = leaf(
            "landlord-registry",
            ExtendedKeyUsageOID.SERVER_AUTH,
            [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ],
        )
        self.client_pem, self.client_key_pem = leaf("tenant", ExtendedKeyUsageOID.CLIENT_AUTH, [])
        self.ca_file = folder / "ca.crt"
        self.ca_file.write_bytes(self.ca_pem)
        self.serving_file = folder / "tls.crt"
        self.serving_file.write_bytes(self.serving_pem)
        self.serving_key_file = folder / "tls.key"
        _write_private(self.serving_key_file, self.serving_key_pem)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: pathlib.Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


# -- the token service ---------------------------------------------------------------


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    server: _TokenHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        service = self.server.tokens
        service.record()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        user = self._user()
        if user is False:
            self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]})
            return
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            # A user may pull and push everywhere; anonymous callers get nothing.
            granted = [a for a in actions.split(",") if a in ("pull", "push")] if user else []
            access.append({"type": "repository", "name": name, "actions": granted})
        token = service.sign(str(user or ""), access)
        self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

    def _user(self) -> str | bool | None:
        header = self.headers.get("Authorization", "")
        if not header:
            return None
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        expected = self.server.tokens.users.get(user)
        if expected is None or not hmac.compare_digest(expected, password):
            return False
        return user

    def _answer(self, code: int, document: Mapping[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TokenHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tokens: TokenServer) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.tokens = tokens

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hangs up is not the server's problem


class TokenServer:
    """Docker's token service on loopback: Basic credentials in, an ES256 JWT out."""

    def __init__(self, folder: pathlib.Path, pki: Pki, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        self.count = 0
        self._lock = threading.Lock()
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        self._cert = _builder(name, name, self._key.public_key(), now).sign(
            self._key, hashes.SHA256()
        )
        self.bundle = folder / "token-root.crt"
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._pki = pki
        self._server: _TokenHttpServer | None = None

    def start(self) -> TokenServer:
        self._server = _TokenHttpServer(self)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._pki.serving_file, self._pki.serving_key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def realm(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}/token"

    def record(self) -> None:
        with self._lock:
            self.count += 1

    def sign(self, subject: str, access: list[dict[str, Any]]) -> str:
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- the registry --------------------------------------------------------------------


class Registry:
    """A distribution registry under ``root``, on a free loopback port."""

    def __init__(
        self,
        root: pathlib.Path,
        *,
        binary: pathlib.Path,
        users: dict[str, str] | None = None,
        tls: bool = True,
        token_auth: bool = False,
    ) -> None:
        if token_auth and not (users and tls):
            raise ValueError("token authentication needs users and TLS")
        self.root = root
        self.binary = binary
        self.users = dict(users or {})
        self.tls = tls
        self.token_auth = token_auth
        self.port = 0
        self.pki: Pki | None = None
        self.tokens: TokenServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._baseline = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self, *, timeout: float = 30.0) -> Registry:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pki = Pki(self.root / "pki")
        if self.token_auth:
            self.tokens = TokenServer(self.root / "pki", self.pki, self.users).start()
        for _ in range(3):
            self.port = _free_port()
            config = self.root / "config.yml"
            config.write_text(json.dumps(self._config(), indent=2))  # JSON is YAML
            self.log_path.write_bytes(b"")
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.binary), "serve", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "none"},
                )
            if self._wait(timeout):
                self._baseline = self.requests()
                return self
            self._stop_process()  # a port lost to a race: try another
        self.stop()
        raise RuntimeError(f"the registry did not start:\n{self.log_tail()}")

    def _wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                connection = self._connection()
                connection.request("GET", "/v2/")
                status = connection.getresponse().status
                connection.close()
                if status in (200, 401):
                    return True
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self._stop_process()
        if self.tokens is not None:
            self.tokens.stop()

    def _stop_process(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": f"127.0.0.1:{self.port}", "secret": secrets.token_hex(16)},
        }
        if self.tls:
            assert self.pki is not None
            config["http"]["tls"] = {
                "certificate": str(self.pki.serving_file),
                "key": str(self.pki.serving_key_file),
            }
        if self.token_auth:
            assert self.tokens is not None
            config["auth"] = {
                "token": {
                    "realm": self.tokens.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.tokens.bundle),
                }
            }
        elif self.users:
            htpasswd = self.root / "htpasswd"
            htpasswd.write_text(
                "".join(f"{user}:{_bcrypt(password)}\n" for user, password in self.users.items())
            )
            config["auth"] = {"htpasswd": {"realm": "landlord", "path": str(htpasswd)}}
        return config

    # -- where it is -----------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, repo: str) -> str:
        return f"oci://{self.host}/{repo}"

    @property
    def ca_pem(self) -> bytes:
        assert self.pki is not None
        return self.pki.ca_pem

    @property
    def log_path(self) -> pathlib.Path:
        return self.root / "registry.log"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def requests(self, repo: str | None = None) -> int:
        """Requests the registry answered since it started (for ``repo`` only when given)."""
        count = 0
        for _, path, _ in self.accessed():
            if repo is None:
                count += 1
                continue
            named = _REPO.match(path)
            if named is not None and named.group(1) == repo:
                count += 1
        return count - (self._baseline if repo is None else 0)

    def requests_settled(
        self, repo: str | None = None, *, quiet: float = 0.3, timeout: float = 5.0
    ) -> int:
        """:meth:`requests` once the access log has not grown for ``quiet`` seconds.

        The registry logs a request just after it answered it: a count taken right
        after another test's last request may miss it, and a later count would not.
        """
        deadline = time.monotonic() + timeout
        last, since = self.requests(repo), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            time.sleep(0.05)
            now = self.requests(repo)
            if now != last:
                last, since = now, time.monotonic()
        return last

    def accessed(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request in the access log, oldest first."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [
            (match.group(1), urllib.parse.urlsplit(match.group(2)).path, int(match.group(3)))
            for match in _ACCESS.finditer(text)
        ]

    # -- content ---------------------------------------------------------------------

    def client(
        self, repo: str, *, username: str | None = None, password: str | None = None
    ) -> client.Client:
        """A client for ``repo`` (the first user's credentials unless others are given)."""
        if username is None and self.users:
            username, password = next(iter(self.users.items()))
        return client.Client(
            reference.Repository(self.host, repo),
            credentials=client.Credentials(
                username=username, password=password, ca_pem=self.ca_pem if self.tls else None
            ),
            check=_loopback_only,
            timeout=30,
            insecure=not self.tls,
        )

    def push_artifact(
        self,
        repo: str,
        tag: str,
        files: Mapping[str, str],
        *,
        source: str | None = None,
        revision: str | None = None,
    ) -> str:
        """A Flux artifact of ``files`` (path → text) under ``repo:tag``; returns its digest."""
        folder = self.root / "scratch" / secrets.token_hex(6)
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        folder.mkdir(parents=True, exist_ok=True)
        return artifact.push(self.client(repo), folder, tag=tag, source=source, revision=revision)

    def push_image(self, repo: str, tag: str, *, layers: int = 1) -> str:
        """A tiny valid image (config and ``layers`` layers) under ``repo:tag``; its digest."""
        registry = self.client(repo)
        config = registry.push_blob(
            json.dumps(
                {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}
            ).encode(),
            "application/vnd.oci.image.config.v1+json",
        )
        descriptors = []
        for index in range(layers):
            raw = io.BytesIO()
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                data = f"{repo}:{tag} layer {index}\n".encode()
                info = tarfile.TarInfo(f"layer-{index}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            descriptors.append(
                registry.push_blob(raw.getvalue(), "application/vnd.oci.image.layer.v1.tar+gzip")
            )
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": client.OCI_MANIFEST,
                "config": _descriptor(config),
                "layers": [_descriptor(item) for item in descriptors],
            }
        ).encode()
        return registry.push_manifest(body, client.OCI_MANIFEST, tag)

    def delete_tag(self, repo: str, tag: str) -> None:
        """Delete the manifest ``repo:tag`` points to (and so every tag on it)."""
        digest = self.client(repo).manifest(tag).digest
        connection = self._connection()
        headers = {}
        if self.tokens is not None:
            access = [{"type": "repository", "name": repo, "actions": ["delete"]}]
            headers["Authorization"] = "Bearer " + self.tokens.sign("admin", access)
        elif self.users:
            user, password = next(iter(self.users.items()))
            headers["Authorization"] = (
                "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            )
        connection.request("DELETE", f"/v2/{repo}/manifests/{digest}", headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 202:
            raise RuntimeError(f"deleting {repo}:{tag} answered HTTP {response.status}")

    def _connection(self) -> http.client.HTTPConnection:
        if not self.tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=context)


def _descriptor(descriptor: client.Descriptor) -> dict[str, Any]:
    return {
        "mediaType": descriptor.media_type,
        "digest": descriptor.digest,
        "size": descriptor.size,
    }


def _loopback_only(url: str) -> network.Resolution | None:
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(f"the demo registry's client only talks to loopback, not {parts.hostname}")
    return None


def _bcrypt(password: str) -> str:
    # The fewest rounds bcrypt allows: a test registry, not a password store.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
