"""Landlord's API types (``landlord.dev/v1alpha1``): typed models with their defaults.

What belongs here: pydantic models of the specs, accessors that apply defaults,
label and annotation names, condition helpers. What must not: I/O of any kind.
The CRD YAML in ``crds/`` is the apiserver's copy of the same schema.
"""

from __future__ import annotations

GROUP = "landlord.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
