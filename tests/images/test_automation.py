"""The loop closes: a new tag → the policy picks it → a commit → the sync applies it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from landlord import api, kube
from landlord.demo import GitServer, Registry
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
from tests.images.conftest import (
    automation,
    file_at,
    git_repository,
    head,
    image_policy,
    image_repository,
    message,
    ready,
    reported,
)

WEB = """\
# the web app: this comment, the quoting and the key order stay as they are
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    # another namespace's policy: not this tenant's, left alone
    landlord.test/elsewhere: "{image}:1.0.0" # {{"$imagepolicy": "kube-system:web"}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: web
          image: {image}:1.0.0 # {{"$imagepolicy": "{namespace}:web"}}
          securityContext: {{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
"""
TEMPLATE = (
    "Bump images by {{ .AutomationObject }}\n\n"
    "{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}"
)


def _deployed_image(admin: kube.Kube, namespace: str) -> str | None:
    body = admin.get("apps/v1", "Deployment", "web", namespace) or {}
    containers = ((body.get("spec") or {}).get("template") or {}).get("spec", {}).get(
        "containers"
    ) or [{}]
    return str(containers[0].get("image") or "") or None


def test_a_new_tag_is_committed_to_the_tenants_repository_and_applied(
    admin: kube.Kube,
    tenants: Tenants,
    git_server: GitServer,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    name = tenants.name("img")
    image = f"{registry.host}/{name}/web"
    original = WEB.format(image=image, namespace=name)
    git_server.create(name, pushable=True)
    git_server.commit(name, {"deploy/web.yaml": original}, message="app")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    tenants.create(
        name,
        # An hour between fetches: the bump is fetched because Landlord pushed it, at once.
        {"source": {"url": url, "interval": "1h"}, "sync": {"path": "./deploy", "interval": "1h"}},
    )
    tenants.ready(name)
    eventually(
        lambda: _deployed_image(admin, name) == f"{image}:1.0.0",
        timeout=45,
        what="the first sync",
    )
    registry.push_image(f"{name}/web", "1.0.0")
    image_repository(admin, name, "web", registry, f"{name}/web", registry_secrets(admin, name))
    image_policy(admin, name, "web", "web", {"semver": {"range": ">=1.0.0"}})
    ready(admin, "ImagePolicy", name, "web")
    before = head(git_server, name)
    automation(
        admin,
        name,
        "bump",
        name,
        git={
            "commit": {
                "author": {"name": "Image Bot", "email": "bot@example.com"},
                "messageTemplate": TEMPLATE,
            }
        },
    )

    status = ready(admin, "ImageUpdateAutomation", name, "bump")["status"]

    # Nothing to change yet: no commit.
    assert head(git_server, name) == before
    assert "lastPushCommit" not in status
    assert status["observedPolicies"] == {"web": {"name": image, "tag": "1.0.0"}}

    registry.push_image(f"{name}/web", "1.1.0")

    def pushed() -> Any:
        body = admin.get(api.API_VERSION, "ImageUpdateAutomation", "bump", name) or {}
        found = (body.get("status") or {}).get("lastPushCommit")
        return found if found and found != before else None

    sha = eventually(pushed, timeout=45, what="the automation to push the bump")
    assert head(git_server, name) == sha
    # Exactly the marked field of this tenant's policy changed; every other byte stayed.
    assert file_at(git_server, name, "deploy/web.yaml") == original.replace(
        f"image: {image}:1.0.0", f"image: {image}:1.1.0"
    )
    text = message(git_server, name)
    assert text.startswith(f"Image Bot <bot@example.com>\nBump images by {name}/bump\n")
    assert f"- {image}:1.0.0 -> {image}:1.1.0" in text
    events = admin.list_objects("v1", "Event", namespace=name)
    assert any(
        e.get("reason") == "CommitPushed" and sha[:7] in e.get("message", "") for e in events
    )
    # The sync applies the commit.
    eventually(
        lambda: _deployed_image(admin, name) == f"{image}:1.1.0",
        timeout=45,
        what="the sync to apply the new image",
    )


def test_a_push_branch_gets_the_commit_and_an_invalid_template_stalls(
    admin: kube.Kube,
    operator: OperatorProcess,
    git_server: GitServer,
    namespace: str,
    registry: Registry,
    registry_secrets: Callable[..., tuple[str, str]],
) -> None:
    repo = f"branch-{namespace}"
    image = f"{registry.host}/{namespace}/web"
    original = WEB.format(image=image, namespace=namespace)
    git_server.create(repo, pushable=True)
    git_server.commit(repo, {"deploy/web.yaml": original})
    url = git_server.url(repo).replace("http://", f"http://{USER}:{PASSWORD}@")
    git_repository(admin, namespace, "app", url)
    registry.push_image(f"{namespace}/web", "1.2.0")
    image_repository(
        admin, namespace, "web", registry, f"{namespace}/web", registry_secrets(admin, namespace)
    )
    image_policy(admin, namespace, "web", "web", {"semver": {"range": ">=1.0.0"}})
    main = head(git_server, repo)

    automation(
        admin,
        namespace,
        "to-branch",
        "app",
        git={"checkout": {"ref": {"branch": "main"}}, "push": {"branch": "image-updates"}},
    )
    automation(
        admin,
        namespace,
        "bad-template",
        "app",
        git={
            "commit": {
                "author": {"email": "bot@example.com"},
                "messageTemplate": "{{ .Secrets }}",
            }
        },
    )

    ready(admin, "ImageUpdateAutomation", namespace, "to-branch")
    eventually(
        lambda: "1.2.0" in file_at(git_server, repo, "deploy/web.yaml", "image-updates"),
        timeout=30,
        what="the bump on the push branch",
    )
    body = reported(admin, "ImageUpdateAutomation", namespace, "bad-template", "InvalidTemplate")
    assert [c["status"] for c in body["status"]["conditions"] if c["type"] == "Stalled"] == ["True"]
    said = next(c["message"] for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert said.startswith("spec.git.commit.messageTemplate: {{ .Secrets }}")  # named once
    assert head(git_server, repo) == main  # main itself is untouched
    text = message(git_server, repo, "image-updates")
    assert text.startswith("Image Bot <bot@example.com>\nUpdate images from ImageUpdateAutomation")
    assert f"{namespace}/to-branch" in text.splitlines()[1]
