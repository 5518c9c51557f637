"""Many writers at once: every commit lands, a name is taken exactly once."""

from __future__ import annotations

import concurrent.futures
import pathlib
import threading
import time
from typing import Any

from landlord import onboarding
from landlord.git.command import GitError
from landlord.wiring import api_main
from tests.onboarding.conftest import PLATFORM_REPO, Api


def test_ten_concurrent_onboardings_all_land_as_commits(onboarding_api: Api) -> None:
    names = [onboarding_api.name("many") for _ in range(10)]
    before = onboarding_api.commits()

    def create(name: str) -> int:
        status, body, _ = onboarding_api.call(
            "POST", "/v1/tenants", onboarding_api.admin_token, {"name": name, "spec": {}}
        )
        assert status == 201, body
        return status

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(create, names))

    assert statuses == [201] * 10
    assert onboarding_api.commits() == before + 10
    assert all(onboarding_api.file(name) is not None for name in names)


def test_two_requests_for_one_new_name_make_one_tenant(onboarding_api: Api) -> None:
    name = onboarding_api.name("twice")
    before = onboarding_api.commits()

    def create(_: int) -> tuple[int, dict[str, Any]]:
        status, body, _headers = onboarding_api.call(
            "POST", "/v1/tenants", onboarding_api.admin_token, {"name": name, "spec": {}}
        )
        return status, body

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(create, range(2)), key=lambda result: result[0])

    assert [status for status, _ in results] == [201, 409], results
    assert "already exists" in results[1][1]["error"]
    assert onboarding_api.commits() == before + 1


class _RacedWorkspace:
    """The real working clone; someone else pushes right before its first push."""

    def __init__(self, inner: onboarding.Workspace, outside: Any) -> None:
        self.inner = inner
        self.outside = outside
        self.pushes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def push(self) -> None:
        self.pushes += 1
        if self.pushes == 1:
            self.outside()
        self.inner.push()


def test_a_push_race_is_retried_from_the_new_tip_and_loses_nothing(
    onboarding_api: Api, tmp_path: pathlib.Path
) -> None:
    name, outsider = onboarding_api.name("raced"), onboarding_api.name("outside")
    config = onboarding_api.config.model_copy(deep=True)
    config.api.workdir = tmp_path
    opened: list[_RacedWorkspace] = []

    def outside() -> None:
        onboarding_api.git.commit(
            PLATFORM_REPO,
            {
                f"tenants/{outsider}.yaml": f"apiVersion: landlord.dev/v1alpha1\nkind: Tenant\n"
                f"metadata: {{name: {outsider}}}\nspec: {{}}\n"
            },
            message="a platform engineer commits by hand",
        )

    def factory(location: onboarding.Location) -> onboarding.Workspace:
        opened.append(_RacedWorkspace(api_main.workspace_factory(config)(location), outside))
        return opened[-1]  # type: ignore[return-value]

    service = onboarding.Onboarding(
        onboarding_api.kube,
        onboarding_api.landlord.gate,
        factory,
        platform_namespace=config.platform_namespace,
        settings=config.api,
        allowed_schemes=config.sources.allowed_schemes,
        metrics=onboarding_api.landlord.metrics,
    )
    caller = onboarding.Caller(
        "system:serviceaccount:onboarding-admins:admin",
        ("system:serviceaccounts", "system:serviceaccounts:onboarding-admins"),
    )
    request = onboarding.TenantRequest(name=name)
    accepted = service.create(caller, request, onboarding.RequestContext.now("race-1"), wait=None)

    assert opened[0].pushes == 2  # rejected once, then pushed from the new tip
    assert accepted.commit == onboarding_api.head()
    assert onboarding_api.file(name) is not None
    assert onboarding_api.file(outsider) is not None  # the other writer's commit is kept
    exposition = onboarding_api.landlord.metrics.exposition().decode()
    assert 'landlord_api_commits_total{operation="create",result="retried"}' in exposition


class _FailingCommitWorkspace:
    """The real working clone; ``git commit`` fails for one tenant (after its ``git add``).

    The first push waits until the test has queued more requests, so those land
    in one batch together.
    """

    def __init__(self, inner: Any, poison: str) -> None:
        self.inner = inner
        self.pushing = threading.Event()
        self.release = threading.Event()
        self.pushes = 0
        real = inner._git

        def git(*args: str) -> str:
            if "commit" in args and any(poison in arg for arg in args):
                raise GitError(f"git commit: simulated failure for {poison}", reason="Test")
            return str(real(*args))

        inner._git = git

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def push(self) -> None:
        self.pushes += 1
        if self.pushes == 1:
            self.pushing.set()
            assert self.release.wait(30)
        self.inner.push()


def test_a_commit_that_fails_in_a_batch_leaves_nothing_for_the_next_request(
    onboarding_api: Api, tmp_path: pathlib.Path
) -> None:
    first, poison, good = (onboarding_api.name(p) for p in ("first", "poison", "good"))
    config = onboarding_api.config.model_copy(deep=True)
    config.api.workdir = tmp_path
    opened: list[_FailingCommitWorkspace] = []

    def factory(location: onboarding.Location) -> onboarding.Workspace:
        opened.append(_FailingCommitWorkspace(api_main.workspace_factory(config)(location), poison))
        return opened[-1]  # type: ignore[return-value]

    service = onboarding.Onboarding(
        onboarding_api.kube,
        onboarding_api.landlord.gate,
        factory,
        platform_namespace=config.platform_namespace,
        settings=config.api,
        allowed_schemes=config.sources.allowed_schemes,
        metrics=onboarding_api.landlord.metrics,
    )
    caller = onboarding.Caller(
        "system:serviceaccount:onboarding-admins:admin",
        ("system:serviceaccounts", "system:serviceaccounts:onboarding-admins"),
    )

    def create(name: str) -> Any:
        request = onboarding.TenantRequest(name=name)
        try:
            return service.create(caller, request, onboarding.RequestContext.now(name), wait=None)
        except Exception as error:  # noqa: BLE001 - the answer under test
            return error

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = {first: pool.submit(create, first)}
        deadline = time.monotonic() + 30
        while not (opened and opened[0].pushing.is_set()):  # the first batch is pushing
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for name in (poison, good):  # queued in this order, behind the push: one batch
            answers[name] = pool.submit(create, name)
            while len(service.files._queue) < [poison, good].index(name) + 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
        opened[0].release.set()
        results = {name: future.result(timeout=60) for name, future in answers.items()}

    assert isinstance(results[poison], Exception), results
    assert "simulated failure" in str(results[poison])
    assert results[good].commit == onboarding_api.head(), results
    assert onboarding_api.file(good) is not None
    # The failed request's file was written and staged before its commit failed;
    # it must not ride along in the next request's commit.
    assert onboarding_api.file(poison) is None
    assert onboarding_api._git(
        "show", "--name-only", "--format=", results[good].commit
    ).split() == [f"tenants/{good}.yaml"]
