"""``make chart``: write the chart's RBAC rule files from :mod:`landlord.installer.rbac`."""

from __future__ import annotations

import pathlib
import sys

import yaml

from landlord.installer import rbac

FILES = {
    "operator-rules.yaml": ("OPERATOR_RULES", rbac.OPERATOR_RULES),
    "tenant-rules.yaml": ("TENANT_ACCESS_RULES", rbac.TENANT_ACCESS_RULES),
    "platform-rules.yaml": ("PLATFORM_RULES", rbac.PLATFORM_RULES),
}


def render(constant: str, rules: list[dict[str, object]]) -> str:
    """One file's text: a header naming its source, then the rules."""
    header = (
        f"# Generated from landlord.installer.rbac.{constant} by `make chart`; "
        "tests/chart checks it.\n"
    )
    return header + yaml.safe_dump(rules, sort_keys=False)


def main(folder: str) -> None:
    for name, (constant, rules) in FILES.items():
        (pathlib.Path(folder) / name).write_text(render(constant, rules))


if __name__ == "__main__":
    main(sys.argv[1])
