"""Who is calling: bearer tokens checked by the apiserver, and the policy subjects."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Sequence

from landlord import errors, kube
from landlord.api.tenant import TenantSpec
from landlord.onboarding import text


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated user, as the apiserver's TokenReview named it."""

    user: str
    groups: tuple[str, ...] = ()

    def subjects(self, *, owner: bool = False) -> list[str]:
        """Policy subjects: ``user:``, each ``group:``, and ``role:tenant-owner`` for owners."""
        subjects = [f"user:{self.user}", *(f"group:{group}" for group in self.groups)]
        return [*subjects, "role:tenant-owner"] if owner else subjects

    def owns(self, spec: TenantSpec | None) -> bool:
        """Whether ``spec.owners`` names this user, one of its groups or its service account."""
        for owner in spec.owners if spec else ():
            if owner.kind == "User" and owner.name == self.user:
                return True
            if owner.kind == "Group" and owner.name in self.groups:
                return True
            if owner.kind == "ServiceAccount" and self.user == kube.service_account_user(
                owner.namespace or "default", owner.name
            ):
                return True
        return False

    @property
    def shown(self) -> str:
        """The user name as one bounded printable line: for trailers, annotations and logs."""
        return text.one_line(self.user)

    @property
    def author(self) -> tuple[str, str]:
        """The Git author of this caller's commits: (name, e-mail), both safe to write."""
        return text.author_name(self.user), text.author_email(self.user)

    @property
    def email(self) -> str:
        """An author e-mail for commits: the user name if it is one, else a stand-in."""
        return text.author_email(self.user)


class Authenticator:
    """TokenReview for the API's audiences, with a short cache so a burst costs one review.

    A token counts only if the apiserver says it was issued for one of
    ``audiences`` (``kubectl create token SA --audience landlord``): a pod's
    ordinary service-account token, made for the apiserver, is not an API
    credential, so a workload cannot act on the platform repository with the
    token it happens to have mounted.
    """

    def __init__(
        self,
        kube_client: kube.Kube,
        *,
        audiences: Sequence[str],
        cache_seconds: float = 10.0,
    ) -> None:
        if not audiences:
            raise ValueError("the onboarding API needs at least one token audience")
        self.kube = kube_client
        self.audiences = tuple(audiences)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None when the apiserver does not accept it."""
        if not token or len(token) > 16 * 1024:
            return None
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] > now:
                return cached[1]
        try:
            reviewed = self.kube.review_token(token, audiences=self.audiences)
        except errors.ApiError as error:
            if error.status in (400, 422):
                return None
            raise
        if reviewed is None:
            return None
        caller = Caller(reviewed[0], tuple(reviewed[1]))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.cache_seconds, caller)
        return caller
