"""An ImageUpdateAutomation's policySelector becomes the apiserver's label selector."""

from __future__ import annotations

from landlord.api import imageupdateautomation as model


def test_the_selector_query_says_what_the_spec_says() -> None:
    spec = model.ImageUpdateAutomationSpec.model_validate(
        {
            "sourceRef": {"name": "app"},
            "git": {"commit": {"author": {"email": "bot@example.com"}}},
            "policySelector": {
                "matchLabels": {"team": "a", "app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["front", "back"]},
                    {"key": "skip", "operator": "DoesNotExist"},
                ],
            },
        }
    )

    assert spec.policy_selector is not None
    assert spec.policy_selector.as_query() == "app=web,team=a,tier in (front,back),!skip"
    assert spec.path == "./"
    assert spec.git.commit.author.name == "Landlord"
