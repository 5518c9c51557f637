"""ImageUpdateAutomation: commit the latest images into the tenant's own repository, push.

One reconcile reads top to bottom: spec → interval → the GitRepository (its own
namespace, or another one the policy's ``source`` point allows) → the push guard:
first Landlord's own rule (never a repository of the platform or of another
owner: :mod:`landlord.images.guard`), then the policy's ``push`` point on the
normalised URL, both before any Git connection → the network deny list pins the
connection → the latest images of the tenant's ImagePolicies (``policySelector``)
→ sync, rewrite the markers, commit, push (retried when someone else pushed
first) as the GitRepository's own credentials → status and an Event naming the
changes. Nothing changed: no commit.
"""

from __future__ import annotations

import logging
import pathlib
import shutil
from collections.abc import Callable, Sequence
from typing import Any

import pydantic

from landlord import api, errors, git, policy
from landlord.api import conditions, gitrepository, imagepolicy, invalid, labels, reasons
from landlord.api import imageupdateautomation as model
from landlord.git import network, urls
from landlord.git.credentials import Credentials
from landlord.git.workspace import Checkout
from landlord.gitops import durations
from landlord.images import access as access_mod
from landlord.images import commits, guard, message, setters, status
from landlord.kube import Kube, events
from landlord.runtime.outcome import Outcome

log = logging.getLogger(__name__)

RETRY = 30.0
# An Event names at most this many changes (the commit itself names them all).
SHOWN_CHANGES = 20


class AutomationReconciler:
    """Runs one ImageUpdateAutomation per reconcile."""

    def __init__(
        self,
        kube: Kube,
        *,
        access: access_mod.Access,
        workdir: pathlib.Path,
        allowed_schemes: Sequence[str],
        bounds: durations.Bounds,
        push_attempts: int,
        max_files: int,
        max_file_bytes: int,
        known: Callable[[], list[guard.Known]] | None = None,
        on_pushed: Callable[[str, str], None] = lambda namespace, name: None,
    ) -> None:
        self.kube = kube
        self.access = access
        self.workdir = workdir
        self.allowed_schemes = list(allowed_schemes)
        self.bounds = bounds
        self.push_attempts = push_attempts
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.known = known or self.listed
        self.on_pushed = on_pushed

    # -- what the guard compares with ---------------------------------------------------

    def listed(self) -> list[guard.Known]:
        """Every GitRepository's and Tenant's source URL, as the apiserver has them now."""
        repositories = [
            (
                item["metadata"]["namespace"],
                item["metadata"]["name"],
                str((item.get("spec") or {}).get("url") or ""),
            )
            for item in self.kube.list_objects(api.API_VERSION, gitrepository.KIND)
        ]
        tenants = [
            (
                item["metadata"]["name"],
                str(((item.get("spec") or {}).get("source") or {}).get("url") or ""),
            )
            for item in self.kube.list_objects(api.API_VERSION, "Tenant")
        ]
        return guard.gather(repositories, tenants, self.access.owner)

    # -- the reconcile --------------------------------------------------------------------

    def reconcile(self, key: str) -> Outcome | None:
        namespace, _, name = key.partition("/")
        body = self.kube.get(api.API_VERSION, model.KIND, name, namespace)
        if body is None:
            shutil.rmtree(self.workdir / namespace / name, ignore_errors=True)
            return None
        try:
            spec = model.ImageUpdateAutomationSpec.of(body)
        except pydantic.ValidationError as error:
            return status.write(self.kube, body, status.stalled(invalid.describe(error)), {})
        if spec.suspend:
            return Outcome(skipped=True)
        try:
            interval = durations.interval(
                spec.durations(), "interval", durations.parse(model.DEFAULT_INTERVAL), self.bounds
            )
            if spec.git.commit.message_template:
                message.validate(spec.git.commit.message_template)
        except durations.OutOfBoundsError as error:
            return status.write(
                self.kube, body, status.stalled(str(error), reasons.INVALID_DURATION), {}
            )
        except message.InvalidTemplateError as error:
            return status.write(
                self.kube,
                body,
                # The error already names spec.git.commit.messageTemplate.
                status.stalled(str(error), reasons.INVALID_TEMPLATE),
                {},
            )
        outcome, extra = self._run(namespace, name, spec)
        if outcome.ready:
            outcome = Outcome(True, outcome.reason, outcome.message, requeue_after=interval)
        elif not outcome.stalled:
            outcome = Outcome(
                False, outcome.reason, outcome.message, requeue_after=min(RETRY, interval)
            )
        return status.write(self.kube, body, outcome, extra)

    def _run(
        self, namespace: str, name: str, spec: model.ImageUpdateAutomationSpec
    ) -> tuple[Outcome, dict[str, Any]]:
        ref = spec.source_ref
        where = ref.namespace or namespace
        secrets: list[str] = []
        try:
            self.access.cross_namespace(namespace, where, ref.name, "spec.sourceRef")
        except access_mod.DeniedError as error:
            return status.stalled(error.message, reasons.POLICY_DENIED), {}
        body = self.kube.get(api.API_VERSION, gitrepository.KIND, ref.name, where)
        if body is None:
            message_ = f"GitRepository {where}/{ref.name} not found"
            return Outcome(False, reasons.DEPENDENCY_NOT_READY, message_), {}
        try:
            source_spec = gitrepository.GitRepositorySpec.of(body)
        except pydantic.ValidationError:
            message_ = f"GitRepository {where}/{ref.name} has an invalid spec"
            return Outcome(False, reasons.DEPENDENCY_NOT_READY, message_), {}
        try:
            urls.validate_url(source_spec.url, self.allowed_schemes)
            source = urls.normalise(source_spec.url)
        except urls.InvalidSourceError as error:
            text = urls.redact(str(error), [urls.url_credentials(source_spec.url)[1] or ""])
            return Outcome(False, reasons.INVALID_SOURCE, text), {}
        secrets.append(source.password or "")
        refused = self._guard(namespace, source)
        if refused is not None:
            return refused, {}
        branch = self._branch(spec, source_spec)
        if branch is None:
            return status.stalled(
                f"GitRepository {where}/{ref.name} follows a tag, semver range or commit: set "
                "spec.git.checkout.ref.branch to say which branch to commit to"
            ), {}
        try:
            timeout = durations.timeout(
                source_spec.durations(),
                "timeout",
                durations.parse(gitrepository.DEFAULT_TIMEOUT),
                self.bounds,
            )
            credentials = self._credentials(where, source_spec)
            if credentials is not None:
                secrets += credentials.secret_values()
            resolution = (
                None
                if namespace == self.access.platform_namespace or self.access.network_policy is None
                else self.access.network_policy.check(source.url, source.host, source.port)
            )
            images = self._images(namespace, spec)
            checkout = Checkout(
                source_spec.url,  # its userinfo, if any, is the GitRepository's own too
                credentials,
                workdir=self.workdir / namespace / name,
                branch=branch,
                timeout=timeout,
                resolution=resolution,
            )
            template = spec.git.commit.message_template
            skipped: list[str] = []
            pushed = commits.update(
                checkout,
                path=spec.path,
                images=images,
                author=(spec.git.commit.author.name, spec.git.commit.author.email),
                message=lambda changes: message.render(
                    template, automation=f"{namespace}/{name}", changes=changes
                ),
                push_branch=spec.git.push.branch if spec.git.push else None,
                attempts=self.push_attempts,
                max_files=self.max_files,
                max_file_bytes=self.max_file_bytes,
                on_skip=lambda path, why: skipped.append(f"{path} ({why})"),
            )
        except durations.OutOfBoundsError as error:
            return status.stalled(str(error), reasons.INVALID_DURATION), {}
        except network.BlockedAddressError as error:
            log.warning("automation %s/%s: %s", namespace, name, urls.redact(error.detail, secrets))
            return Outcome(False, error.reason, error.message), {}
        except git.GitError as error:
            return Outcome(False, error.reason, urls.redact(error.message, secrets)), {}
        except message.InvalidTemplateError as error:
            return status.stalled(str(error), reasons.INVALID_TEMPLATE), {}
        except errors.LandlordError as error:
            reason = str(getattr(error, "reason", "") or reasons.UPDATE_FAILED)
            return Outcome(False, reason, urls.redact(error.message, secrets)), {}
        except setters.InvalidImageError as error:
            # A policy's latest image that cannot be written as a YAML value: nothing committed.
            return Outcome(False, reasons.INVALID_IMAGE, urls.redact(str(error), secrets)), {}
        except (ValueError, OSError) as error:
            text = urls.redact(str(error), secrets)
            return Outcome(False, reasons.UPDATE_FAILED, text), {}
        now = conditions.now()
        extra: dict[str, Any] = {
            "lastAutomationRunTime": now,
            "observedPolicies": _observed(namespace, images),
        }
        target = spec.git.push.branch if spec.git.push else branch
        unread = _skipped(skipped)
        if pushed.sha is None:
            return Outcome(True, reasons.SUCCEEDED, "repository up-to-date" + unread), extra
        extra["lastPushCommit"] = pushed.sha
        extra["lastPushTime"] = now
        text = f"pushed commit '{pushed.sha[:7]}' to branch '{target}'"
        self.on_pushed(where, ref.name)
        automation = self.kube.get(api.API_VERSION, model.KIND, name, namespace)
        if automation is not None:
            events.record(
                self.kube,
                automation,
                reason=reasons.COMMIT_PUSHED,
                message=text + "\n" + _changes(pushed.changes),
                annotations={labels.REVISION: f"{target}@sha1:{pushed.sha}"},
            )
        return Outcome(True, reasons.SUCCEEDED, text + unread), extra

    def _guard(self, namespace: str, source: urls.SourceURL) -> Outcome | None:
        """Landlord's own refusal, then the policy's ``push`` point; None when the push may go."""
        if namespace == self.access.platform_namespace:
            return None  # the platform team's own automation
        owner = self.access.owner(namespace)
        found = guard.refusal(source.url, owner, self.known())
        if found is not None:
            whose = "the platform's" if found.owner == "platform" else "another owner's"
            return status.stalled(
                f"{source.url} is {whose} repository ({found.where}): Landlord never pushes to "
                "a repository of the platform or of another tenant, whatever the policy says; "
                "nothing was pushed",
                reasons.PUSH_NOT_ALLOWED,
            )
        subject = policy.subject_for(namespace, self.access.labels_of(namespace))
        decision = self.access.gate.check("push", [subject], source.url)
        if not decision.allowed:
            return status.stalled(
                f"{subject} may not push to {source.url}: {decision.explain()}; nothing was "
                f"pushed. {decision.how_to_allow(subject)}",
                reasons.POLICY_DENIED,
            )
        return None

    @staticmethod
    def _branch(
        spec: model.ImageUpdateAutomationSpec, source: gitrepository.GitRepositorySpec
    ) -> str | None:
        if spec.git.checkout is not None:
            return spec.git.checkout.ref.branch
        if source.ref is None or not source.ref.given():
            return gitrepository.DEFAULT_BRANCH
        return source.ref.branch if source.ref.branch and len(source.ref.given()) == 1 else None

    def _credentials(
        self, namespace: str, spec: gitrepository.GitRepositorySpec
    ) -> Credentials | None:
        """The GitRepository's own ``secretRef`` (never anything of the operator's)."""
        if spec.secret_ref is None:
            return None
        data = self.access.secret_data(
            namespace, spec.secret_ref.name, "the GitRepository's secretRef"
        )
        return Credentials.from_secret(data, spec.secret_ref.name)

    def _images(self, namespace: str, spec: model.ImageUpdateAutomationSpec) -> dict[str, str]:
        """``"namespace:name"`` → latest image of every selected ImagePolicy of the tenant."""
        selector = spec.policy_selector.as_query() if spec.policy_selector else None
        images: dict[str, str] = {}
        for where in self.access.tenant_namespaces(namespace):
            for item in self.kube.list_objects(
                api.API_VERSION, imagepolicy.KIND, namespace=where, label_selector=selector or None
            ):
                latest = (item.get("status") or {}).get("latestImage")
                # Only a policy that is Ready now: one refused since (a cross-namespace
                # reference no longer allowed) keeps its old latestImage in status.
                if isinstance(latest, str) and latest and conditions.ready_at_generation(item):
                    images[f"{where}:{item['metadata']['name']}"] = latest
        return images


def _observed(namespace: str, images: dict[str, str]) -> dict[str, dict[str, str]]:
    observed = {}
    for key, image in sorted(images.items()):
        where, _, policy_name = key.partition(":")
        repository, _, tag = image.rpartition(":")
        if "/" in tag:  # no tag after the last colon: a port
            repository, tag = image, ""
        shown = policy_name if where == namespace else f"{where}.{policy_name}"
        observed[shown] = {"name": repository, "tag": tag}
    return observed


def _changes(changes: Sequence[setters.Change]) -> str:
    lines = [f"- {c.file}:{c.line} {c.old} -> {c.new}" for c in changes[:SHOWN_CHANGES]]
    if len(changes) > SHOWN_CHANGES:
        lines.append(f"... and {len(changes) - SHOWN_CHANGES} more")
    return "\n".join(lines)


def _skipped(skipped: Sequence[str], shown: int = 5) -> str:
    """The files under update.path that were not read (too large, not UTF-8), for the status."""
    if not skipped:
        return ""
    more = f" and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"; not read: {', '.join(skipped[:shown])}{more}"
