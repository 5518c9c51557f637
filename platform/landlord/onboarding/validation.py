"""What a request may ask for, beyond the schema: names, namespaces, quota, source.

Each check returns field-level problems (``{"spec.quota.pods": "…"}``); an empty
dict means the request may go on. Pure functions: no cluster, no Git. A source
URL is checked, and spelled for the policy, exactly as the sources reconciler
will (:mod:`landlord.git.urls`), so what the API admits the operator fetches.
"""

from __future__ import annotations

from collections.abc import Mapping

from landlord.api.tenant import TenantSpec, reserved_namespaces
from landlord.git import urls
from landlord.gitops import durations
from landlord.onboarding import quantities

# Resource names a ResourceQuota's ``hard`` accepts without a ``count/`` prefix.
_QUOTA_PREFIXES = ("requests.", "limits.")
_QUOTA_PLAIN = {
    "pods",
    "services",
    "services.loadbalancers",
    "services.nodeports",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "replicationcontrollers",
    "resourcequotas",
    "cpu",
    "memory",
}


def check_name(name: str, platform_namespace: str) -> dict[str, str]:
    """A tenant name must not be one the platform reserves (its default namespace)."""
    if reserved_namespaces((name,), platform_namespace):
        return {
            "name": f"{name!r} is reserved for the platform (kube-*, default, "
            f"{platform_namespace}); choose another name"
        }
    return {}


def check_spec(
    spec: TenantSpec,
    *,
    platform_namespace: str,
    max_quota: Mapping[str, str],
    max_count: int,
    allowed_schemes: list[str],
    bounds: durations.Bounds,
) -> dict[str, str]:
    """Namespaces, quota, source and intervals of a tenant's spec."""
    problems: dict[str, str] = {}
    bad = reserved_namespaces(spec.namespaces, platform_namespace)
    if bad:
        problems["spec.namespaces"] = (
            f"{', '.join(bad)} reserved for the platform (kube-*, default, {platform_namespace})"
        )
    for key, value in (spec.quota or {}).items():
        problem = _quota_problem(str(key), value, max_quota, max_count)
        if problem:
            problems[f"spec.quota.{key}"] = problem
    if spec.source is not None:
        problem = _url_problem(spec.source.url, allowed_schemes)
        if problem:
            problems["spec.source.url"] = problem
    # The operator would refuse them (InvalidDuration) after the commit: say so now.
    for part, value in (("source", spec.source), ("sync", spec.sync)):
        if value is None:
            continue
        try:
            durations.interval({"interval": value.interval}, "interval", 0.0, bounds)
        except durations.OutOfBoundsError as error:
            problems[f"spec.{part}.interval"] = f"must be a duration {error.allowed}"
    return problems


def _quota_problem(
    key: str, value: object, max_quota: Mapping[str, str], max_count: int
) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return "must be a quantity such as 10, 500m or 16Gi"
    try:
        amount = quantities.parse(value)
    except ValueError as error:
        return str(error)
    if amount < 0:
        return "must not be negative"
    if key.startswith("count/"):
        if amount > max_count:
            return f"at most {max_count} (the platform's bound for count/* quotas)"
        return None
    if key not in _QUOTA_PLAIN and not key.startswith(_QUOTA_PREFIXES):
        return (
            "not a quota resource: use pods, services, requests.cpu, limits.memory, "
            "count/<resource>… (see ResourceQuota)"
        )
    bound = max_quota.get(key)
    if bound is None:
        return f"the platform sets no bound for {key}; ask a platform admin"
    if amount > quantities.parse(bound):
        return f"at most {bound} (the platform's bound)"
    return None


def _url_problem(url: str, allowed_schemes: list[str]) -> str | None:
    """What the sources reconciler would refuse in ``url`` (:mod:`landlord.git.urls`), or None.

    Beyond it, the API refuses credentials in the URL: they belong in a Secret.
    """
    if "://" not in url:
        return "must be a URL such as https://git.example.com/team/repo.git"
    try:
        urls.validate_url(url, allowed_schemes)
        source = urls.normalise(url)
    except urls.InvalidSourceError as error:
        return error.message
    except ValueError:
        return "not a URL"
    if source.user or source.password:
        return "credentials do not belong in the URL: use spec.source.secretRef"
    return None


def canonical_url(url: str) -> str:
    """``url`` as the policy and the operator see it: its one spelling (:func:`urls.normalise`).

    Only for a URL :func:`check_spec` found no problem with.
    """
    return urls.normalise(url).url
