"""A traceparent is a trace's parent only where Landlord signed it for that very object."""

from __future__ import annotations

from typing import Any

from landlord.api import labels
from landlord.telemetry import TRACEPARENT_SIGNATURE, Origins, TraceSigner
from landlord.telemetry.tracing import subject

PARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
KEY = b"k" * 32


def _object(kind: str, name: str, namespace: str | None, **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": annotations}
    if namespace:
        metadata["namespace"] = namespace
    return {"kind": kind, "metadata": metadata}


def test_only_a_signature_for_this_object_counts() -> None:
    signer = TraceSigner(lambda: KEY)
    origins = Origins(signer)
    signature = signer.sign(subject("Kustomization", "team", "team"), PARENT)
    assert signature is not None
    mine = _object(
        "Kustomization",
        "team",
        "team",
        **{labels.TRACEPARENT: PARENT, TRACEPARENT_SIGNATURE: signature},
    )
    assert origins.trusted("Kustomization", mine) == PARENT
    # The same pair copied onto another object, of another kind, or with another parent:
    copied = _object(
        "Kustomization",
        "other",
        "team",
        **{labels.TRACEPARENT: PARENT, TRACEPARENT_SIGNATURE: signature},
    )
    assert origins.trusted("Kustomization", copied) is None
    assert origins.trusted("GitRepository", mine) is None
    changed = "00-" + "c" * 32 + "-" + "b" * 16 + "-01"
    forged = _object(
        "Kustomization",
        "team",
        "team",
        **{labels.TRACEPARENT: changed, TRACEPARENT_SIGNATURE: signature},
    )
    assert origins.trusted("Kustomization", forged) is None
    unsigned = _object("Kustomization", "team", "team", **{labels.TRACEPARENT: PARENT})
    assert origins.trusted("Kustomization", unsigned) is None


def test_without_a_key_nothing_is_signed_or_honoured() -> None:
    origins = Origins(TraceSigner(lambda: None))
    assert origins.signer is not None
    assert origins.signer.sign("Tenant//t", PARENT) is None
    anything = _object("Tenant", "t", None, **{labels.TRACEPARENT: PARENT})
    assert origins.trusted("Tenant", anything) is None
    assert Origins().trusted("Tenant", anything) is None


def test_stamp_signs_for_the_manifest_or_removes_the_traceparent() -> None:
    origins = Origins(TraceSigner(lambda: KEY))
    manifest = _object("GitRepository", "team", "team", **{labels.TRACEPARENT: PARENT})
    origins.stamp("GitRepository", manifest, PARENT)
    assert origins.trusted("GitRepository", manifest) == PARENT
    untrusted = _object("GitRepository", "team", "team", **{labels.TRACEPARENT: PARENT})
    origins.stamp("GitRepository", untrusted, None)
    assert "annotations" not in untrusted["metadata"]


def test_the_key_is_loaded_once_it_is_there() -> None:
    calls = []

    def load() -> bytes | None:
        calls.append(1)
        return KEY if len(calls) > 1 else None

    signer = TraceSigner(load)
    assert signer.sign("x", PARENT) is None
    assert signer.sign("x", PARENT) is not None
    assert signer.sign("x", PARENT) is not None
    assert len(calls) == 2
