# Landlord's two set-up commands: `make demo` and `make test`.
# Everything they need is installed from here: a virtualenv with the package and
# its dev tools at the versions pinned (with hashes) in requirements/lock.txt,
# and the control-plane binaries built once from Go modules into ~/.cache/landlord
# (needs the Go toolchain on PATH). `make lock` refreshes the lock.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements/lock.txt
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
# The lock tool, pinned, in a virtualenv of its own (it is not one of Landlord's dependencies).
UV_VERSION := 0.13.8
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv

.PHONY: venv lock host-tools binaries demo test lint unit bench clean

# Exactly the locked set (a cleared venv, every file checked against its hash), then Landlord
# itself without resolving anything again; no build isolation, so building it
# uses the locked setuptools instead of fetching the newest.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(PIP) install --require-hashes --only-binary :all: -r $(LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)

$(UV_VENV)/uv-$(UV_VERSION):
	$(PYTHON) -m venv --clear $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

# Re-resolve pyproject.toml's dependencies (and the dev extra) into the lock.
# Versions already in the lock are kept while they still fit; `make lock
# UPGRADE=1` moves every package to its newest release.
lock: $(UV_VENV)/uv-$(UV_VERSION)
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
		--extra dev --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) \
		pyproject.toml requirements/build.in -o $(LOCK)
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -c $(LOCK) pyproject.toml -o requirements/runtime.txt

# Debian packages the operator runs: bubblewrap confines every tenant build
# (docs/security.md). Installed once, only when missing (needs root or sudo).
host-tools:
	@hack/install-host-tools.sh

# Builds kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok
# the first time (tens of minutes on 2 cores), then finds them in the cache.
binaries: venv host-tools
	$(BIN)/landlord cluster build

# Debian packages a real node and `make image` need (containerd, runc, CNI plugins,
# catatonit, debootstrap, buildah); installed once, only when missing (needs root).
node-tools:
	@hack/install-node-tools.sh

# Landlord's own OCI image (docs/local-control-plane.md): Debian from debootstrap, the
# runtime lock, the wheel and kustomize, assembled by buildah; prints the archive's path.
# Regenerate the chart's RBAC rules from landlord.installer.rbac (tests/chart checks them).
chart: venv
	$(BIN)/python -m landlord.installer.chartfiles charts/landlord/files

# Regenerate the operator container's seccomp profile (containerd's default for a
# container without capabilities, plus what bubblewrap needs); the output is checked in.
seccomp:
	cd hack/seccomp && go run . > ../../platform/landlord/cluster/realnode/seccomp/sandbox.json
	cp platform/landlord/cluster/realnode/seccomp/sandbox.json charts/landlord/files/seccomp-sandbox.json

# Debian's chromium and chromium-driver: the status page's browser tests (docs/ui.md);
# installed once, only when missing (needs root or sudo).
ui-tools:
	@hack/install-ui-tools.sh

.PHONY: node-tools ui-tools image chart seccomp
image: venv node-tools
	$(BIN)/landlord image build

demo: binaries
	$(BIN)/landlord up

lint: venv
	$(BIN)/ruff check platform tests hack
	$(BIN)/ruff format --check platform tests hack
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest -m "not controlplane"

# The real-node tests (tests/realnode) need root, the node tools, the kubelet and
# Landlord's image; each is built or installed once, with progress, before pytest.
# Every test's time (setup, call, teardown) lands in .landlord/test-report.xml.
test: lint binaries node-tools ui-tools image
	$(BIN)/landlord cluster build --real-nodes
	$(BIN)/pytest --durations=30 --junitxml=.landlord/test-report.xml

bench: binaries
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(UV_VENV) .landlord .pytest_cache .mypy_cache .ruff_cache
