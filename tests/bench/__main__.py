"""``make bench``: run every benchmark in this folder; each prints a table of figures.

Benchmarks measure and print; they never assert on time. Run one alone with
``python -m tests.bench NAME`` (e.g. ``controlplane``). Options after a name set
that bench's environment knobs: ``python -m tests.bench soak --minutes 60
--tenants 200`` is ``LANDLORD_BENCH_SOAK_MINUTES=60 LANDLORD_BENCH_SOAK_TENANTS=200``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import tests.bench as package


def _parse(argv: list[str]) -> list[str]:
    """Bench names in order; ``--key value`` after a name goes into its environment."""
    names: list[str] = []
    args = iter(argv)
    for arg in args:
        if not arg.startswith("--"):
            names.append(arg)
            continue
        if not names:
            raise SystemExit(f"{arg}: an option follows the name of the bench it is for")
        value = next(args, None)
        if value is None:
            raise SystemExit(f"{arg}: needs a value")
        key = arg[2:].replace("-", "_").upper()
        os.environ[f"LANDLORD_BENCH_{names[-1].upper()}_{key}"] = value
    return names


def main(selected: list[str]) -> None:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("bench_")
    )
    for name in selected or names:
        if name not in names:
            raise SystemExit(f"no bench called {name!r}; there are: {', '.join(names)}")
        module = importlib.import_module(f"tests.bench.bench_{name}")
        print(f"\n== {name} ==", flush=True)
        module.run()


if __name__ == "__main__":
    main(_parse(sys.argv[1:]))
