"""`landlord logs`: reading the operator's JSON and text records, and choosing one object's."""

from __future__ import annotations

import datetime
import json
import logging
import pathlib
from typing import Any

import pytest
from click.testing import CliRunner

from landlord.cli import logs, main
from landlord.telemetry.logs import JsonFormatter, TextFormatter

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _json(message: str, level: str = "INFO", **extra: Any) -> str:
    return json.dumps(
        {
            "time": "2025-03-01T10:00:00.000000+00:00",
            "level": level,
            "logger": "landlord.runtime.controller",
            "message": message,
            **extra,
        }
    )


def _formatted(formatter: logging.Formatter, message: str, **extra: Any) -> str:
    """A line exactly as the operator's own formatter writes it."""
    record = logging.LogRecord("landlord.sync", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return formatter.format(record)


def test_a_json_record_from_the_operators_formatter_names_its_object() -> None:
    line = _formatted(
        JsonFormatter(), "sync team-a/web failed", controller="sync", key="team-a/web"
    )

    record = logs.parse(line)

    assert record is not None
    assert record.level == "WARNING"
    assert record.refs == (logs.Ref("Kustomization", "web", "team-a"),)
    assert record.time is not None
    assert record.time.tzinfo is not None
    assert record.as_data() == json.loads(line)  # -o json passes it through


def test_a_text_record_from_the_operators_formatter_is_parsed() -> None:
    line = _formatted(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"), "hi")

    record = logs.parse(line + f" trace_id={TRACE}")

    assert record is not None
    assert (record.level, record.logger, record.message, record.trace_id) == (
        "WARNING",
        "landlord.sync",
        "hi",
        TRACE,
    )
    assert record.fields is None
    assert record.refs == ()


@pytest.mark.parametrize(
    ("fields", "ref"),
    [
        ({"controller": "source", "key": "team-a/app"}, logs.Ref("GitRepository", "app", "team-a")),
        ({"controller": "tenant", "key": "team-a"}, logs.Ref("Tenant", "team-a")),
        ({"kustomization": "team-a/web"}, logs.Ref("Kustomization", "web", "team-a")),
        ({"tenant": "team-a"}, logs.Ref("Tenant", "team-a")),
        (
            {"k8s_ref": {"kind": "HelmRelease", "name": "db", "namespace": "team-a"}},
            logs.Ref("HelmRelease", "db", "team-a"),
        ),
    ],
)
def test_the_fields_that_name_an_object(fields: dict[str, Any], ref: logs.Ref) -> None:
    assert logs.refs_of(fields) == (ref,)


def test_a_json_record_is_chosen_by_the_object_it_names_not_by_its_words() -> None:
    target = logs.Target(kind="Kustomization", name="web", namespace="team-a")
    ours = logs.parse(_json("sync failed", controller="sync", key="team-a/web"))
    other_namespace = logs.parse(_json("sync failed", controller="sync", key="team-b/web"))
    other_kind = logs.parse(_json("web fetched", controller="source", key="team-a/web"))
    mentions_only = logs.parse(_json("team-a/web", controller="sync", key="team-a/api"))

    assert ours is not None
    assert target.matches(ours)
    for record in (other_namespace, other_kind, mentions_only):
        assert record is not None
        assert not target.matches(record)


def test_records_that_name_no_object_are_matched_by_name_in_the_message() -> None:
    target = logs.Target(name="web", namespace="team-a")

    def matches(message: str) -> bool:
        record = logs.parse(_json(message))
        assert record is not None
        return target.matches(record)

    assert matches("source team-a/web: connection refused")
    assert not matches("source team-a/webshop: connection refused")  # another name
    assert not matches("source team-b/web: connection refused")  # another namespace
    assert not matches("source team-a/web.v2: moved")  # a longer name with a dot
    anywhere = logs.parse(_json("prune of web failed"))
    assert anywhere is not None
    assert logs.Target(name="web").matches(anywhere)  # no namespace given: the name alone


def test_level_and_time_bounds() -> None:
    since = datetime.datetime(2025, 3, 1, 10, 0, 0, tzinfo=datetime.UTC)
    info = logs.parse(_json("team-a/web applied"))
    assert info is not None

    assert logs.Target(name="web", level="INFO").matches(info)
    assert not logs.Target(name="web", level="WARNING").matches(info)
    assert logs.Target(name="web", since=since).matches(info)
    assert not logs.Target(name="web", since=since + datetime.timedelta(seconds=1)).matches(info)


def test_a_traceback_belongs_to_the_text_record_before_it() -> None:
    lines = [
        "2025-03-01 10:00:00,000 ERROR landlord.runtime.controller: sync team-a/web failed",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: boom",
        "2025-03-01 10:00:01,000 INFO landlord.sync: other/app applied",
    ]

    found = list(logs.records(lines))

    assert [r.level for r in found] == ["ERROR", "INFO"]
    assert found[0].message.endswith("ValueError: boom")
    assert logs.Target(name="web", namespace="team-a").matches(found[0])
    assert not logs.Target(name="web", namespace="team-a").matches(found[1])


def test_a_text_record_is_complete_when_the_followed_log_is_idle() -> None:
    line = "2025-03-01 10:00:00,000 INFO landlord.sync: team-a/web applied"

    found = logs.records(iter([line, None]))

    assert next(found).message == "team-a/web applied"  # without waiting for the next line


def test_pod_lines_carry_the_kubelets_timestamp_and_replicas_merge_by_time() -> None:
    first = [f"2025-03-01T10:00:02.000000000Z {_json('b', time=None)}"]
    second = [
        "2025-03-01T10:00:01.000000000Z 2025-03-01 10:00:01,000 INFO x: a",
        f"2025-03-01T10:00:03.000000000Z {_json('c', time='2025-03-01T10:00:03+00:00')}",
    ]

    merged = logs.merged(
        [logs.records(first, source="pod-1"), logs.records(second, source="pod-2")]
    )

    assert [r.message for r in merged] == ["a", "b", "c"]
    assert merged[1].time == datetime.datetime(2025, 3, 1, 10, 0, 2, tzinfo=datetime.UTC)
    assert merged[1].source == "pod-1"


def test_tail_keeps_the_last_records() -> None:
    found = [logs.parse(_json(str(i))) for i in range(5)]
    kept = [r for r in found if r is not None]

    assert [r.message for r in logs.last(kept, 2)] == ["3", "4"]
    assert logs.last(kept, 0) == []
    assert len(logs.last(kept, None)) == 5


def test_the_command_filters_a_local_operators_log_file(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "operator.log"
    log.write_text(
        "\n".join(
            [
                _json("sync team-a/web failed", "WARNING", controller="sync", key="team-a/web")[:-1]
                + f', "trace_id": "{TRACE}"}}',
                _json("sync team-a/api failed", "WARNING", controller="sync", key="team-a/api"),
                "2025-03-01 10:00:05,000 INFO landlord.sources: source team-a/web: fetched",
            ]
        )
        + "\n"
    )

    result = CliRunner().invoke(
        main.cli,
        ["logs", "--file", str(log), "--kind", "ks", "--name", "web", "-n", "team-a"],
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2, result.output
    assert "Kustomization/team-a/web" in lines[0]
    assert f"trace_id={TRACE}" in lines[0]
    assert lines[1].endswith("source team-a/web: fetched")

    as_json = CliRunner().invoke(
        main.cli, ["logs", "--file", "-", "--name", "api", "-o", "json"], input=log.read_text()
    )
    assert [json.loads(line)["key"] for line in as_json.output.splitlines()] == ["team-a/api"]


def test_a_bad_since_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "operator.log"
    log.write_text("")

    result = CliRunner().invoke(main.cli, ["logs", "--file", str(log), "--since", "soon"])

    assert result.exit_code == 2
    assert "--since" in result.output
