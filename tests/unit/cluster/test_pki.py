"""The generated PKI: a CA that signs a loopback serving cert and the clients' certs."""

from __future__ import annotations

import ipaddress
import pathlib
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from landlord.cluster import pki


def _cert(path: pathlib.Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_serving_certificate_covers_loopback(tmp_path: pathlib.Path) -> None:
    paths = pki.generate(tmp_path)
    ca = _cert(paths.ca_cert)
    serving = _cert(paths.serving_cert)

    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    usage = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage


def test_admin_client_is_in_system_masters(tmp_path: pathlib.Path) -> None:
    paths = pki.generate(tmp_path)
    admin = _cert(paths.client_cert(pki.ADMIN))

    admin.verify_directly_issued_by(_cert(paths.ca_cert))
    groups = [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert groups == ["system:masters"]
    usage = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage


def test_components_have_their_own_identities(tmp_path: pathlib.Path) -> None:
    paths = pki.generate(tmp_path)
    names = {
        who.user: _cert(paths.client_cert(who))
        .subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
        .value
        for who in pki.CLIENTS
    }
    assert names == {who.user: who.user for who in pki.CLIENTS}
    assert "system:kube-controller-manager" in names


def test_private_keys_are_owner_only(tmp_path: pathlib.Path) -> None:
    paths = pki.generate(tmp_path)
    keys = [
        paths.ca_key,
        paths.serving_key,
        paths.sa_key,
        *(paths.client_key(who) for who in pki.CLIENTS),
    ]
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_service_account_key_pair_matches(tmp_path: pathlib.Path) -> None:
    from cryptography.hazmat.primitives import serialization

    paths = pki.generate(tmp_path)
    private = serialization.load_pem_private_key(paths.sa_key.read_bytes(), password=None)
    public = serialization.load_pem_public_key(paths.sa_pub.read_bytes())
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert private.public_key().public_numbers() == public.public_numbers()  # type: ignore[union-attr]
