"""``make bench``: run every benchmark in this folder; each prints a table of figures.

Benchmarks measure and print; they never assert on time. Run one alone with
``python -m tests.bench NAME`` (e.g. ``controlplane``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import tests.bench as package


def main(selected: list[str]) -> None:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("bench_")
    )
    for name in selected or names:
        module = importlib.import_module(f"tests.bench.bench_{name}")
        print(f"\n== {name} ==", flush=True)
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
