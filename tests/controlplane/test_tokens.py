"""ServiceAccount tokens are minted (TokenRequest) and validated (TokenReview) for real."""

from __future__ import annotations

from landlord import kube


def _review(admin: kube.Kube, token: str) -> object:
    return admin.authentication.create_token_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    ).status


def test_minted_token_is_validated(admin: kube.Kube, namespace: str) -> None:
    admin.core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})

    token = admin.core.create_namespaced_service_account_token(
        "robot", namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    status = _review(admin, token)

    assert status.authenticated is True
    assert status.user.username == f"system:serviceaccount:{namespace}:robot"


def test_tampered_token_is_rejected(admin: kube.Kube, namespace: str) -> None:
    admin.core.create_namespaced_service_account(namespace, {"metadata": {"name": "robot"}})
    token = admin.core.create_namespaced_service_account_token(
        "robot", namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    header, payload, signature = token.split(".")
    tampered = ".".join(
        (header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB"))
    )

    assert _review(admin, tampered).authenticated is not True
