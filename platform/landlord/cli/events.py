"""``landlord events``: the Kubernetes Events Landlord posted, oldest first (as ``flux events``).

Selecting and shaping Events is pure (:func:`select`, :func:`row`); the command
lists them, or watches for new ones with :func:`landlord.kube.watch.watch_kind`.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterable
from typing import Any

import click
import yaml

from landlord import kube
from landlord.api import labels
from landlord.cli import console, kinds
from landlord.cli import output as formats
from landlord.cli.get import age
from landlord.kube import events as kube_events
from landlord.kube import watch

# Where Events about cluster-scoped objects (Tenants) are posted.
CLUSTER_SCOPED_EVENTS = "default"
NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)
COLUMNS = ("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE")


def parse_for(text: str) -> tuple[str, str]:
    """``KIND/NAME`` (a Landlord kind or alias, as ``landlord get`` takes) → (Kind, name)."""
    word, slash, name = text.partition("/")
    kind = kinds.ALIASES.get(word.lower())
    if not slash or not name or kind is None:
        raise click.BadParameter(
            f"{text!r}: use KIND/NAME with KIND one of {', '.join(sorted(kinds.ALIASES))}",
            param_hint="--for",
        )
    return kind.name, name


def posted_by_landlord(event: dict[str, Any]) -> bool:
    """Whether Landlord posted the Event (its source or reporting component)."""
    return (event.get("source") or {}).get("component") == kube_events.COMPONENT or event.get(
        "reportingComponent"
    ) == kube_events.COMPONENT


def last_seen(event: dict[str, Any]) -> str:
    """When the Event was last seen (RFC 3339), whichever field its poster set."""
    return str(
        event.get("lastTimestamp")
        or (event.get("series") or {}).get("lastObservedTime")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _about(event: dict[str, Any], kind: str | None, name: str | None) -> bool:
    involved = event.get("involvedObject") or {}
    return (kind is None or involved.get("kind") == kind) and (
        name is None or involved.get("name") == name
    )


def select(
    events: Iterable[dict[str, Any]], *, kind: str | None = None, name: str | None = None
) -> list[dict[str, Any]]:
    """The Events Landlord posted (about ``kind``/``name`` when given), oldest first."""
    chosen = [e for e in events if posted_by_landlord(e) and _about(e, kind, name)]
    return sorted(chosen, key=lambda e: (_instant(last_seen(e)), e["metadata"].get("name", "")))


def _instant(stamp: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return NEVER
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def row(event: dict[str, Any]) -> dict[str, Any]:
    """What ``-o json|yaml`` prints for one Event."""
    involved = event.get("involvedObject") or {}
    annotations = (event.get("metadata") or {}).get("annotations") or {}
    return {
        "lastSeen": last_seen(event),
        "type": event.get("type") or "",
        "reason": event.get("reason") or "",
        "object": {
            "kind": involved.get("kind"),
            "name": involved.get("name"),
            **({"namespace": involved["namespace"]} if involved.get("namespace") else {}),
        },
        "message": event.get("message") or "",
        "count": int(event.get("count") or 1),
        **({"revision": annotations[labels.REVISION]} if labels.REVISION in annotations else {}),
        **({"traceId": annotations[labels.TRACE_ID]} if labels.TRACE_ID in annotations else {}),
    }


def cells(event: dict[str, Any], *, wide: bool, namespaces: bool) -> list[str]:
    """One table row: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (and more when wide)."""
    shaped = row(event)
    obj = shaped["object"]
    values = [
        age(shaped["lastSeen"] or None),
        shaped["type"],
        shaped["reason"],
        f"{obj['kind']}/{obj['name']}",
        shaped["message"],
    ]
    if namespaces:
        values.insert(0, obj.get("namespace") or "")
    if wide:
        values += [str(shaped["count"]), shaped.get("revision", ""), shaped.get("traceId", "")]
    return values


def _columns(*, wide: bool, namespaces: bool) -> list[str]:
    columns = list(COLUMNS)
    if namespaces:
        columns.insert(0, "NAMESPACE")
    if wide:
        columns += ["COUNT", "REVISION", "TRACE"]
    return columns


def _seen_key(event: dict[str, Any]) -> tuple[str, str, str]:
    metadata = event.get("metadata") or {}
    return (str(metadata.get("uid")), str(event.get("count")), last_seen(event))


class _Printer:
    """Prints Events once each, as aligned lines, JSON lines or YAML documents.

    Streamed rows cannot be laid out as one table: the header is printed with
    the first batch, columns as wide as that batch needs (wider later if they must).
    """

    def __init__(self, output_format: str, *, namespaces: bool) -> None:
        self.output = output_format
        self.namespaces = namespaces
        self.seen: set[tuple[str, str, str]] = set()
        self.widths: list[int] = []

    def print(self, events: list[dict[str, Any]]) -> None:
        fresh = [e for e in events if _seen_key(e) not in self.seen]
        self.seen.update(_seen_key(e) for e in fresh)
        if formats.structured(self.output):
            for event in fresh:
                if self.output == "json":
                    click.echo(json.dumps(row(event)))
                else:
                    click.echo("---\n" + yaml.safe_dump(row(event), sort_keys=False).rstrip())
            return
        wide = self.output == "wide"
        rows = [cells(event, wide=wide, namespaces=self.namespaces) for event in fresh]
        if not self.widths:
            rows.insert(0, _columns(wide=wide, namespaces=self.namespaces))
            self.widths = [0] * len(rows[0])
        for values in rows:
            self.widths = [max(w, len(v)) for w, v in zip(self.widths, values, strict=True)]
        for values in rows:
            padded = [v.ljust(w) for v, w in zip(values[:-1], self.widths[:-1], strict=True)]
            console.out.print("  ".join([*padded, values[-1]]), markup=False, highlight=False)


@click.command("events")
@click.option(
    "--for",
    "for_",
    metavar="KIND/NAME",
    help="Only Events about this object, e.g. ks/web, kustomization/web, tenant/team-a "
    "(KIND: a Landlord kind or alias, as `landlord get` takes).",
)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Only this namespace (default: every namespace; Events about Tenants are in default).",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (the default).")
@click.option(
    "-w",
    "--watch",
    is_flag=True,
    help="After the Events so far, print new ones as they are posted, until Ctrl-C.",
)
@formats.output_option
def events_command(
    for_: str | None, namespace: str | None, all_namespaces: bool, watch: bool, output: str
) -> None:
    """The Kubernetes Events Landlord posted, oldest first.

    Columns: LAST SEEN, TYPE (Normal or Warning), REASON, OBJECT (Kind/name) and
    MESSAGE; NAMESPACE too across namespaces, COUNT and REVISION (the
    landlord.dev/revision annotation) with -o wide. Events posted by anything
    other than Landlord are left out.
    """
    kind, name = parse_for(for_) if for_ else (None, None)
    where = None if all_namespaces else namespace
    if kind == "Tenant":
        where = CLUSTER_SCOPED_EVENTS  # a cluster-scoped object's Events are posted there
    client = kube.connect()
    if watch:
        _watch(client, where, kind, name, output)
        return
    found = select(client.list_objects("v1", "Event", namespace=where), kind=kind, name=name)
    if formats.structured(output):
        formats.emit([row(e) for e in found], output)
        return
    if not found:
        console.out.print("no events" + (f" about {kind} {name}" if kind else ""))
        return
    namespaces = where is None
    table = formats.table(*_columns(wide=output == "wide", namespaces=namespaces))
    for event in found:
        table.add_row(*cells(event, wide=output == "wide", namespaces=namespaces))
    console.out.print(table, markup=False)


def _watch(
    client: kube.Kube, where: str | None, kind: str | None, name: str | None, output_format: str
) -> None:
    printer = _Printer(output_format, namespaces=where is None)
    stop = threading.Event()

    def listed(items: list[dict[str, Any]]) -> None:
        printer.print(select(items, kind=kind, name=name))

    def changed(change: str, event: dict[str, Any]) -> None:
        if change in ("ADDED", "MODIFIED"):
            printer.print(select([event], kind=kind, name=name))

    try:
        watch.watch_kind(
            client,
            "v1",
            "Event",
            label_selector="",
            on_list=listed,
            on_event=changed,
            stop=stop,
            namespace=where,
        )
    finally:
        stop.set()
