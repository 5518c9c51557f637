"""The checks about this machine and the operator's settings: policy, tools, sandbox."""

from __future__ import annotations

from landlord import errors, kube
from landlord import settings as settings_mod
from landlord.check.results import Result, fail, ok
from landlord.cluster import binaries
from landlord.gitops import artifacts, sandbox
from landlord.policy import lint
from landlord.policy.engine import Policy, PolicyError, Snapshot
from landlord.wiring import policy_sources


def policy(
    config: settings_mod.Settings,
    client: kube.Kube | None,
    *,
    without_source: str = "its source cannot be read",
) -> Result:
    """The policy the operator would load now compiles; line-checker findings warn.

    Read the way the operator reads it: ``LANDLORD_POLICY__PATH``, else the
    ConfigMap, else the platform repository's artifact (when this machine has
    it) or the policy shipped with Landlord.
    """
    name = "policy"
    try:
        if client is not None:
            store = artifacts.ArtifactStore(config.sources.storage_dir / "artifacts")
            snapshot = policy_sources.reader(config, kube_client=client, store=store)()
        elif config.policy.path is not None:
            snapshot = Snapshot.from_directory(config.policy.path)
        else:
            snapshot = policy_sources.built_in(without_source)
        loaded = Policy(snapshot)
    except PolicyError as error:
        return fail(
            name,
            "invalid: " + "; ".join(error.problems),
            "fix those lines (`landlord policy check --policy DIR` shows them); "
            "the operator keeps its last good policy, or denies when it has none",
        )
    except errors.ApiError as error:
        # The CRD and RBAC checks say why; the policy itself can still be judged.
        shipped = policy(config, None)
        return Result(
            name,
            "fail" if shipped.failed else "warn",
            f"cannot read the policy source ({error.message}); {shipped.message}",
            "fix the CRD and RBAC checks above",
        )
    findings = lint.check_policy(loaded)
    message = f"{snapshot.origin}: {len(loaded.rules)} lines"
    if findings:
        return Result(
            name,
            "warn",
            f"{message}, {len(findings)} that cannot do what they say",
            "see `landlord policy check --policy DIR`",
        )
    return ok(name, message)


def kustomize(config: settings_mod.Settings) -> Result:
    """The kustomize binary the operator builds with, found the way the operator finds it."""
    found = binaries.find(
        "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        return fail(
            "kustomize",
            "not found in KUBEBUILDER_ASSETS or the build cache "
            f"({config.cluster.cache_dir}); revisions with a kustomization.yaml will fail",
            "run `landlord cluster build`",
        )
    return ok("kustomize", str(found))


# Tools the operator runs for some features only: missing, those features fail (a warning).
OPTIONAL_TOOLS = {
    "helm": "HelmReleases wait with reason SandboxUnavailable",
    "sops": "Kustomizations with spec.decryption fail with reason DecryptionFailed",
}


def tool(config: settings_mod.Settings, name: str) -> Result:
    """``helm`` or ``sops``, found the way the operator finds it; a warning when missing."""
    found = binaries.find(
        name, cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
    )
    if found is None:
        return Result(
            name,
            "warn",
            "not found in KUBEBUILDER_ASSETS or the build cache "
            f"({config.cluster.cache_dir}): {OPTIONAL_TOOLS[name]}",
            "run `landlord cluster build`",
        )
    return ok(name, str(found))


def build_sandbox(config: settings_mod.Settings) -> Result:
    """Bubblewrap can confine builds (or confinement is explicitly turned off: a warning)."""
    probe = sandbox.from_settings(config.sandbox)
    problem = probe.check()
    if problem is None:
        return ok("sandbox", f"bubblewrap confines builds ({probe.bwrap})")
    if config.sandbox.mode == "unconfined":
        return Result("sandbox", "warn", problem, "install bubblewrap and unset the mode")
    return fail(
        "sandbox",
        problem,
        "install bubblewrap (Debian: apt-get install bubblewrap) and allow user namespaces",
    )
