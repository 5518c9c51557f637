"""The control plane's PKI, written once per ``cluster up``.

A CA, the apiserver's serving certificate, client certificates for the admin
and each component, and the service-account key pair.

ECDSA P-256 keeps generation fast (a few milliseconds for the whole set).
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=365)
SERVING_DNS = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
SERVING_IPS = ("127.0.0.1", "::1", "10.0.0.1")


@dataclasses.dataclass(frozen=True)
class ClientIdentity:
    """A client certificate's subject: CN is the user, O the groups."""

    file_stem: str
    user: str
    groups: tuple[str, ...] = ()


ADMIN = ClientIdentity("admin", "landlord-admin", ("system:masters",))
CONTROLLER_MANAGER = ClientIdentity("kube-controller-manager", "system:kube-controller-manager")
SCHEDULER = ClientIdentity("kube-scheduler", "system:kube-scheduler")
CLIENTS = (ADMIN, CONTROLLER_MANAGER, SCHEDULER)
# Real nodes only: the apiserver's identity towards kubelets (bound to
# system:kubelet-api-admin) and kube-proxy's (bound to system:node-proxier by default).
APISERVER_KUBELET_CLIENT = ClientIdentity(
    "apiserver-kubelet-client", "landlord:apiserver-kubelet-client"
)
KUBE_PROXY = ClientIdentity("kube-proxy", "system:kube-proxy")


def node_identity(node: str) -> ClientIdentity:
    """A kubelet's client identity: what the Node authorizer and NodeRestriction expect."""
    return ClientIdentity(f"node-{node}", f"system:node:{node}", ("system:nodes",))


@dataclasses.dataclass(frozen=True)
class Pki:
    """Paths of every PEM file the components read."""

    dir: pathlib.Path

    @property
    def ca_cert(self) -> pathlib.Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> pathlib.Path:
        return self.dir / "ca.key"

    @property
    def serving_cert(self) -> pathlib.Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> pathlib.Path:
        return self.dir / "apiserver.key"

    @property
    def sa_key(self) -> pathlib.Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> pathlib.Path:
        return self.dir / "sa.pub"

    def client_cert(self, who: ClientIdentity) -> pathlib.Path:
        return self.dir / f"{who.file_stem}.crt"

    def client_key(self, who: ClientIdentity) -> pathlib.Path:
        return self.dir / f"{who.file_stem}.key"


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to a file that is owner-only from its first byte (never chmod after)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _write_key(path: pathlib.Path, key: ec.EllipticCurvePrivateKey) -> None:
    write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _write_cert(path: pathlib.Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def generate(directory: pathlib.Path, *, serving_ips: tuple[str, ...] = ()) -> Pki:
    """Write a fresh PKI into ``directory`` and return its paths.

    ``serving_ips`` are extra addresses the apiserver's certificate is valid for
    (the address real nodes reach it on).
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    pki = Pki(directory)
    now = datetime.datetime.now(datetime.UTC)

    ca_key = _key()
    ca_name = _name("landlord-local-ca")
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
    _write_key(pki.ca_key, ca_key)
    _write_cert(pki.ca_cert, ca)

    def leaf(
        subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName] | None = None
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = _key()
        builder = (
            _builder(subject, ca_name, key.public_key(), now)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), key

    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVING_DNS]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (*SERVING_IPS, *serving_ips)]
    serving, serving_key = leaf(_name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    _write_cert(pki.serving_cert, serving)
    _write_key(pki.serving_key, serving_key)

    for who in CLIENTS:
        cert, key = leaf(_name(who.user, who.groups), ExtendedKeyUsageOID.CLIENT_AUTH)
        _write_cert(pki.client_cert(who), cert)
        _write_key(pki.client_key(who), key)

    sa_key = _key()
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def _load_ca(pki: Pki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{pki.ca_key} is not an EC key")
    return cert, key


def issue(
    pki: Pki,
    who: ClientIdentity,
    *,
    server_names: tuple[str, ...] = (),
    server_ips: tuple[str, ...] = (),
) -> tuple[pathlib.Path, pathlib.Path]:
    """Sign a certificate for ``who`` with the existing CA; return (cert, key) paths.

    With ``server_names`` or ``server_ips`` the certificate serves TLS for them
    (a kubelet's serving certificate) instead of authenticating a client.
    """
    ca, ca_key = _load_ca(pki)
    key = _key()
    serving = bool(server_names or server_ips)
    builder = (
        _builder(
            _name(who.user, who.groups),
            ca.subject,
            key.public_key(),
            datetime.datetime.now(datetime.UTC),
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if serving else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if serving:
        sans: list[x509.GeneralName] = [x509.DNSName(name) for name in server_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_cert(pki.client_cert(who), cert)
    _write_key(pki.client_key(who), key)
    return pki.client_cert(who), pki.client_key(who)
