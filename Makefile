# Landlord's two set-up commands: `make demo` and `make test`.
# Everything they need is installed from here: a virtualenv with the package and
# its dev tools (PyPI), and the control-plane binaries built once from Go modules
# into ~/.cache/landlord (needs the Go toolchain on PATH).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv host-tools binaries demo test lint unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(STAMP)

# Debian packages the operator runs: bubblewrap confines every tenant build
# (docs/security.md). Installed once, only when missing (needs root or sudo).
host-tools:
	@hack/install-host-tools.sh

# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok
# the first time (tens of minutes on 2 cores), then finds them in the cache.
binaries: venv host-tools
	$(BIN)/landlord cluster build

demo: binaries
	$(BIN)/landlord up

lint: venv
	$(BIN)/ruff check platform tests hack
	$(BIN)/ruff format --check platform tests hack
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest -m "not controlplane"

test: lint binaries
	$(BIN)/pytest

bench: binaries
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .landlord .pytest_cache .mypy_cache .ruff_cache
