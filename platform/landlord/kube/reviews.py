"""What the apiserver says about itself and about the caller: version and access reviews.

``server_version`` reads ``/version``; ``can`` asks a SelfSubjectAccessReview
whether the connection's identity (impersonated or not) may do one thing.
"""

from __future__ import annotations

import dataclasses
import re

import urllib3
from kubernetes import client as k8s

from landlord import errors
from landlord.kube.client import Kube, _translated


@dataclasses.dataclass(frozen=True)
class Version:
    """The apiserver's version: ``git`` as it reports it, major and minor as numbers."""

    major: int
    minor: int
    git: str


@dataclasses.dataclass(frozen=True)
class Access:
    """One access review: may the caller ``verb`` ``resource`` in ``group``."""

    group: str
    resource: str
    verb: str
    allowed: bool
    reason: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def rule(self) -> str:
        """The way ``kubectl auth can-i`` names it: ``verb resource.group[/name] [-n ns]``."""
        group = "" if self.group in ("", "core") else f".{self.group}"
        name = f"/{self.name}" if self.name else ""
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.resource}{group}{name}{where}"


def _number(text: str) -> int:
    """``"36"`` or ``"36+"`` (as some distributions report) → 36."""
    found = re.match(r"\d+", text or "")
    return int(found.group()) if found else 0


def server_version(kube: Kube) -> Version:
    """GET ``/version``; an apiserver that does not answer is an :class:`ApiError` too."""
    try:
        with _translated():
            info = k8s.VersionApi(kube.api_client).get_code()
    except urllib3.exceptions.HTTPError as error:
        raise errors.ApiError(
            f"cannot reach the apiserver at {kube.configuration.host}: {error}", status=0
        ) from None
    return Version(_number(info.major), _number(info.minor), str(info.git_version))


def can(
    kube: Kube, verb: str, resource: str, group: str = "", namespace: str = "", name: str = ""
) -> Access:
    """A SelfSubjectAccessReview for ``verb`` on ``resource`` in ``group``.

    Cluster-wide unless ``namespace``; any object unless ``name``.
    """
    review = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(
                verb=verb,
                resource=resource,
                group=group,
                namespace=namespace or None,
                name=name or None,
            )
        )
    )
    with _translated():
        result = kube.authorization.create_self_subject_access_review(review)
    status = result.status
    return Access(
        group=group,
        resource=resource,
        verb=verb,
        allowed=bool(status and status.allowed),
        reason=str((status and (status.reason or status.evaluation_error)) or ""),
        namespace=namespace,
        name=name,
    )


def whoami(kube: Kube) -> str:
    """The username the apiserver sees for this connection (a SelfSubjectReview)."""
    with _translated():
        review = kube.authentication.create_self_subject_review(k8s.V1SelfSubjectReview())
    info = review.status.user_info if review.status else None
    return str(info.username) if info and info.username else "(unknown)"
