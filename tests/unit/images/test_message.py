"""Commit messages: Flux's messageTemplate subset, and a default naming every change."""

from __future__ import annotations

import pytest

from landlord.images import message
from landlord.images.setters import Change

CHANGES = [
    Change(
        "apps/deploy.yaml", 3, "apps:podinfo", "ghcr.io/x/podinfo:6.4.0", "ghcr.io/x/podinfo:6.5.0"
    ),
    Change("apps/values.yaml", 7, "apps:podinfo:tag", "6.4.0", "6.5.0"),
    Change("apps/deploy.yaml", 9, "apps:redis", "redis:7.0", "redis:7.2"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Automated update by {{ .AutomationObject }}", "Automated update by apps/bumper"),
        ("{{.AutomationObject.Namespace}}|{{ .AutomationObject.Name }}", "apps|bumper"),
        (
            "[ci skip] bump\n{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n"
            "{{ end }}",
            "[ci skip] bump\n- ghcr.io/x/podinfo:6.4.0 -> ghcr.io/x/podinfo:6.5.0\n"
            "- 6.4.0 -> 6.5.0\n- redis:7.0 -> redis:7.2\n",
        ),
        # Flux's documented example: files in name order, whitespace trimming
        (
            "Automated image update\n\nFiles:\n"
            "{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n",
            "Automated image update\n\nFiles:\n- apps/deploy.yaml\n- apps/values.yaml\n",
        ),
        (
            "{{ range $i, $c := .Changed.Changes }}{{ $c.Setter }}={{ $c.NewValue }};{{ end }}",
            "apps:podinfo=ghcr.io/x/podinfo:6.5.0;apps:podinfo:tag=6.5.0;apps:redis=redis:7.2;",
        ),
        (
            "{{ range $c := .Changed.Changes }}{{ $.AutomationObject.Name }}:{{ $c.OldValue }} "
            "{{- end }}",
            "bumper:ghcr.io/x/podinfo:6.4.0bumper:6.4.0bumper:redis:7.0",
        ),
        ("a {{/* a comment */}}b", "a b"),
        ("a   {{- /* trimmed both sides */ -}}   b", "ab"),
        ("no actions at all", "no actions at all"),
    ],
)
def test_templates_render(template: str, expected: str) -> None:
    assert message.render(template, automation="apps/bumper", changes=CHANGES) == expected
    message.validate(template)


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ .Changed.Changes }}", "means nothing outside a {{ range }}"),
        ("{{ .OldValue }}", "means nothing outside a {{ range }}"),
        ("{{ range .Changed.Changes }}{{ .AutomationObject }}{{ end }}", "means nothing here"),
        ("{{ range .Changed.Changes }}{{ .Secret }}{{ end }}", "means nothing here"),
        ("{{ range $f, $o := .Changed.FileChanges }}{{ $o }}{{ end }}", "means nothing here"),
        ("{{ range $f := .Changed.FileChanges }}{{ $f }}{{ end }}", "is not supported"),
        ("{{ range .Changed.Changes }}", "without its {{ end }}"),
        ("{{ end }}", "without a {{ range }}"),
        ('{{ printf "%s" .AutomationObject }}', "is not supported"),
        ('{{ template "x" }}', "is not supported"),
        ('{{ index .Changed.FileChanges "x" }}', "is not supported"),
        ("{{ if .Changed }}x{{ end }}", "is not supported"),
        ("{{ }}", "is not supported"),
        ("{{ .AutomationObject ", "unclosed"),
        (
            "{{ range .Changed.Changes }}{{ range .Changed.Changes }}{{ end }}{{ end }}",
            "inside a {{ range }}",
        ),
        ("{{ range .Changed.Changes }}{{ end }}", "renders an empty message"),
    ],
)
def test_unsupported_templates_are_refused(template: str, why: str) -> None:
    with pytest.raises(message.InvalidTemplateError, match="messageTemplate") as caught:
        message.render(template, automation="apps/bumper", changes=CHANGES)
    assert why in str(caught.value)


def test_a_template_checked_without_changes_is_not_empty_for_that() -> None:
    template = "{{ range .Changed.Changes }}{{ .NewValue }}{{ end }}"
    assert message.render(template, automation="apps/bumper", changes=()) == ""
    message.validate(template)


def test_the_default_message_names_every_change() -> None:
    text = message.render(None, automation="apps/bumper", changes=CHANGES)
    assert text == (
        "Update images from ImageUpdateAutomation apps/bumper\n\n"
        "- apps/deploy.yaml:3 ghcr.io/x/podinfo:6.4.0 -> ghcr.io/x/podinfo:6.5.0 (apps:podinfo)\n"
        "- apps/values.yaml:7 6.4.0 -> 6.5.0 (apps:podinfo:tag)\n"
        "- apps/deploy.yaml:9 redis:7.0 -> redis:7.2 (apps:redis)\n"
    )
    assert message.render("  ", automation="apps/bumper", changes=CHANGES) == text


def test_messages_are_bounded() -> None:
    many = [Change(f"f{i}.yaml", 1, "a:b", "x:1", "x:2") for i in range(5000)]
    default = message.render(None, automation="a/b", changes=many)
    assert default.count("\n- ") == message.MAX_LISTED + 1
    assert "… and 4900 more" in default
    long = message.render(
        "{{ range .Changed.Changes }}" + "y" * 100 + "{{ end }}", automation="a/b", changes=many
    )
    assert len(long.encode()) <= message.MAX_MESSAGE_BYTES + 4
