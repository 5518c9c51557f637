"""What a tenant writes never reaches an admin's terminal as a control sequence.

The tenant's repository names an object with ANSI and OSC sequences (window title,
clipboard write, cursor moves, carriage return). The sync refuses the name, and its
message — which quotes where the document is — becomes the Kustomization's Ready
condition and a Warning Event. Every CLI command an admin reads that message with
prints the words and none of the sequences.
"""

from __future__ import annotations

import pathlib

from landlord.api import reasons
from tests.helpers import landlord
from tests.sync.conftest import TenantRepo

HOSTILE = "x\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4K\x1b\\\x1b[1A\x1b[2K\rReady"


def test_a_hostile_name_in_a_message_prints_no_control_sequence(
    control_plane: pathlib.Path, tenant_repo: TenantRepo
) -> None:
    ns = tenant_repo.name
    sha = tenant_repo.push(
        {
            "deploy/cm.yaml": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": HOSTILE},
                "data": {"a": "1"},
            }
        }
    )
    ready = tenant_repo.failed(reasons.VALIDATION_FAILED, sha)
    assert "\x1b" in ready["message"]  # the message itself quotes the name as written

    for command in (
        ("events", "--for", f"ks/{ns}", "-n", ns),
        ("get", "ks", ns, "-n", ns),
        ("get", "all", "-n", ns),
        ("trace", "ks", ns, "-n", ns),
        ("tree", "ks", ns, "-n", ns),
        ("reconcile", "ks", ns, "-n", ns),
    ):
        result = landlord(control_plane, *command)
        shown = result.stdout + result.stderr
        assert "\x1b" not in shown, command
        assert "\r" not in shown, command
        assert "\x07" not in shown, command
    events = landlord(control_plane, "events", "--for", f"ks/{ns}", "-n", ns)
    assert "x]0;owned" in events.stdout  # the words stay: the admin sees what was written
