"""``LANDLORD_FEATURES__IMAGES=false``: no image controller or watch, its state removed."""

from __future__ import annotations

import time
from collections.abc import Callable

from landlord import api, kube
from landlord.demo import Registry
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.images.conftest import image_repository, ready


def test_images_switched_off_scan_nothing_and_leave_nothing(
    admin: kube.Kube,
    operator: OperatorProcess,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"{namespace}/app"
    registry.push_image(repo, "1.0.0")
    secrets = registry_secrets(admin, namespace)
    image_repository(admin, namespace, "before", registry, repo, secrets)
    ready(admin, "ImageRepository", namespace, "before")
    state = operator.log_dir / "sources" / "images"
    assert (state / "tags" / namespace / "before.json").exists()

    operator.start({"LANDLORD_FEATURES__IMAGES": "false"})
    eventually(
        lambda: "controllers started" in operator.log(), timeout=30, what="the operator to start"
    )
    image_repository(admin, namespace, "after", registry, repo, secrets)
    time.sleep(3)  # what a running controller would need to scan it many times over

    body = admin.get(api.API_VERSION, "ImageRepository", "after", namespace)
    assert body is not None
    assert "status" not in body
    assert "imagerepository" not in operator.log()
    assert not state.exists()  # removed at start-up
