"""The CRDs ``landlord install`` applies: package data in ``api/crds`` (``crds/`` links here)."""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

CRD_DIR = pathlib.Path(__file__).resolve().parent / "crds"


def load() -> list[dict[str, Any]]:
    """Every CustomResourceDefinition Landlord serves, in file-name order."""
    documents: list[dict[str, Any]] = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents
