"""``make chart``: write the chart's RBAC rule files from :mod:`landlord.installer.rbac`."""

from __future__ import annotations

import pathlib
import sys

import yaml

from landlord.installer import admission, rbac

FILES = {
    "operator-rules.yaml": ("OPERATOR_RULES", rbac.OPERATOR_RULES),
    "tenant-rules.yaml": ("TENANT_ACCESS_RULES", rbac.TENANT_ACCESS_RULES),
    "platform-rules.yaml": ("PLATFORM_RULES", rbac.PLATFORM_RULES),
    "tenant-edit-rules.yaml": ("TENANT_EDIT_RULES", rbac.TENANT_EDIT_RULES),
    "tenant-view-rules.yaml": ("TENANT_VIEW_RULES", rbac.TENANT_VIEW_RULES),
}


def render(constant: str, rules: list[dict[str, object]]) -> str:
    """One file's text: a header naming its source, then the rules."""
    header = (
        f"# Generated from landlord.installer.rbac.{constant} by `make chart`; "
        "tests/chart checks it.\n"
    )
    return header + yaml.safe_dump(rules, sort_keys=False)


SCOPE = "operator-scope.yaml"


def render_scope() -> str:
    """The admission policy, its namespace a placeholder the chart replaces."""
    header = (
        "# Generated from landlord.installer.admission by `make chart`; tests/chart checks it.\n"
        f"# templates/admission.yaml replaces {admission.NAMESPACE_PLACEHOLDER} and "
        f"{admission.LEVELS_PLACEHOLDER}.\n"
    )
    # Every string double-quoted: the chart's replacements hold single quotes.
    return header + yaml.safe_dump_all(
        admission.manifests(admission.NAMESPACE_PLACEHOLDER, [admission.LEVELS_PLACEHOLDER]),
        sort_keys=False,
        default_style='"',
        width=10_000,
    )


def main(folder: str) -> None:
    for name, (constant, rules) in FILES.items():
        (pathlib.Path(folder) / name).write_text(render(constant, rules))
    (pathlib.Path(folder) / SCOPE).write_text(render_scope())


if __name__ == "__main__":
    main(sys.argv[1])
