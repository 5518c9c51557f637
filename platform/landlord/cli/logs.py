"""``landlord logs``: the operator's log lines about one object.

Reading a line and deciding whether it is about the object is pure
(:func:`parse`, :func:`records`, :func:`Target.matches`); the command reads the
operator pods' logs through the apiserver, or a file (or stdin) an operator run
locally wrote.

Which fields name an object in a JSON line (``landlord.telemetry.logs``
writes each ``extra=`` field as a key):

- ``controller`` and ``key``: every reconcile failure the controllers log
  (``landlord.runtime.controller``): the controller names the kind, the key is
  ``namespace/name`` (or ``name`` for cluster-scoped kinds);
- ``kustomization`` (``namespace/name``): drift found by the watches;
- ``tenant``: a tenant's provisioning;
- ``k8s_ref`` / ``object`` (``kind``, ``name``, ``namespace``): kopf's per-object log lines.

A line without such a field, and every text-format line, is matched by the
object's name in its message (``namespace/name`` when a namespace is given).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import queue
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import click
import yaml
from rich.text import Text

from landlord import errors, kube
from landlord.cli import console, kinds
from landlord.cli import output as formats
from landlord.cli.demo import DEMO_STATE_DIR
from landlord.gitops import durations
from landlord.kube import podlogs
from landlord.settings import Settings

# The operator's pods, as the chart labels them (every shard's Deployment), and its container.
POD_SELECTOR = "app.kubernetes.io/name=landlord"
CONTAINER = "operator"
DEMO_LOG = DEMO_STATE_DIR / "logs" / "operator.log"

# Which kind each controller reconciles (``landlord.wiring``'s controller names).
CONTROLLER_KINDS = {
    "tenant": "Tenant",
    "cluster": "Cluster",
    "source": "GitRepository",
    "sync": "Kustomization",
    "helmrepository": "HelmRepository",
    "helmrelease": "HelmRelease",
    "provider": "Provider",
    "alert": "Alert",
    "receiver": "Receiver",
}
CLUSTER_SCOPED = tuple(kind.name for kind in kinds.ALL if kind.cluster_scoped)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The fields a JSON line always has; the others were extras (shown with -o wide).
_BASE_FIELDS = ("time", "level", "logger", "message", "trace_id", "span_id", "exception")

# ``landlord.telemetry.logs.TextFormatter``: "%(asctime)s %(levelname)s %(name)s: %(message)s",
# then " trace_id=…" inside a span.
_TEXT = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) (?P<logger>\S+?): "
    r"(?P<message>.*)$"
)
_TEXT_TRACE = re.compile(r" trace_id=(?P<trace>[0-9a-f]{32})$")
# The kubelet's timestamp before each line of a pod's log (``timestamps=true``).
_STAMP = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\dT\S+) (?P<rest>.*)$")


@dataclasses.dataclass(frozen=True)
class Ref:
    """An object a log line is about."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


@dataclasses.dataclass
class Record:
    """One log record: a JSON line, or a text line with its continuation lines."""

    raw: str
    time: datetime.datetime | None
    level: str
    logger: str
    message: str
    trace_id: str = ""
    fields: dict[str, Any] | None = None  # the parsed JSON line (None: a text line)
    refs: tuple[Ref, ...] = ()
    source: str = ""  # the pod it came from

    @property
    def object(self) -> str:
        """The objects it names, for the OBJECT column."""
        return ",".join(str(ref) for ref in self.refs)

    def as_data(self) -> dict[str, Any]:
        """What ``-o json|yaml`` prints: a JSON line as it is, a text line as fields."""
        if self.fields is not None:
            return self.fields
        data: dict[str, Any] = {
            "time": self.time.isoformat() if self.time else None,
            "level": self.level,
            "logger": self.logger,
            "message": self.message,
        }
        if self.trace_id:
            data["trace_id"] = self.trace_id
        return data


def _when(text: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.astimezone()  # naive: the local time


def _split_key(key: str) -> tuple[str | None, str]:
    namespace, _, name = key.rpartition("/")
    return namespace or None, name


def refs_of(fields: dict[str, Any]) -> tuple[Ref, ...]:
    """The objects a JSON line's fields name (see the module's docstring)."""
    found: list[Ref] = []
    kind = CONTROLLER_KINDS.get(str(fields.get("controller") or ""))
    if kind and fields.get("key"):
        namespace, name = _split_key(str(fields["key"]))
        found.append(Ref(kind, name, namespace))
    if fields.get("kustomization"):
        namespace, name = _split_key(str(fields["kustomization"]))
        found.append(Ref("Kustomization", name, namespace))
    if fields.get("tenant"):
        found.append(Ref("Tenant", str(fields["tenant"])))
    for key in ("k8s_ref", "object"):
        ref = fields.get(key)
        if isinstance(ref, dict) and ref.get("kind") and ref.get("name"):
            found.append(Ref(str(ref["kind"]), str(ref["name"]), ref.get("namespace") or None))
    return tuple(dict.fromkeys(found))


def parse(raw: str, *, source: str = "") -> Record | None:
    """One line of a log: a JSON record, the start of a text record, or None (a continuation).

    A pod's line may start with the kubelet's timestamp, used when the line has no time.
    """
    line = raw.rstrip("\n")
    stamp: datetime.datetime | None = None
    stamped = _STAMP.match(line)
    if stamped and (at := _when(stamped["stamp"])) is not None:
        stamp, line = at, stamped["rest"]
    if line.startswith("{"):
        try:
            fields = json.loads(line)
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            return Record(
                raw=line,
                time=_when(str(fields.get("time") or "")) or stamp,
                level=str(fields.get("level") or "INFO").upper(),
                logger=str(fields.get("logger") or ""),
                message=str(fields.get("message") or "")
                + (f"\n{fields['exception']}" if fields.get("exception") else ""),
                trace_id=str(fields.get("trace_id") or ""),
                fields=fields,
                refs=refs_of(fields),
                source=source,
            )
    text = _TEXT.match(line)
    if text is None or text["level"] not in LEVELS:
        return None
    message, trace = text["message"], ""
    traced = _TEXT_TRACE.search(message)
    if traced:
        message, trace = message[: traced.start()], traced["trace"]
    return Record(
        raw=line,
        time=_when(text["time"].replace(",", ".")) or stamp,
        level=text["level"],
        logger=text["logger"],
        message=message,
        trace_id=trace,
        source=source,
    )


def records(lines: Iterable[str | None], *, source: str = "") -> Iterator[Record]:
    """The records of a log: lines that start none (a traceback) belong to the one before.

    A JSON record comes out at once; a text record once the next one starts, or
    when ``lines`` yields None (nothing more for now: a followed log is idle).
    """
    current: Record | None = None
    for line in lines:
        if line is None:
            if current is not None:
                yield current
                current = None
            continue
        record = parse(line, source=source)
        if record is not None:
            if current is not None:
                yield current
            current = record
            if record.fields is not None:
                yield record
                current = None
        elif current is not None:
            kept = _STAMP.match(line.rstrip("\n"))
            current.message += "\n" + (kept["rest"] if kept else line.rstrip("\n"))
        elif line.strip():
            # No record to attach it to (a banner, an interpreter's warning): keep it as is.
            yield Record(line.rstrip("\n"), None, "INFO", "", line.rstrip("\n"), source=source)
    if current is not None:
        yield current


@dataclasses.dataclass(frozen=True)
class Target:
    """Which records to keep: about an object, at a level or above, recent enough."""

    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    level: str = "DEBUG"
    since: datetime.datetime | None = None

    def _named(self, ref: Ref) -> bool:
        if self.kind is not None and ref.kind != self.kind:
            return False
        if self.name is not None and ref.name != self.name:
            return False
        scoped = ref.kind in CLUSTER_SCOPED
        return scoped or self.namespace is None or ref.namespace == self.namespace

    def _mentioned(self, message: str) -> bool:
        if self.name is None:
            return self.kind is None and self.namespace is None
        word = re.escape(self.name)
        if self.namespace and self.kind not in CLUSTER_SCOPED:
            word = re.escape(self.namespace) + "/" + word
        return re.search(rf"(?<![\w.-]){word}(?![\w-]|\.\w)", message) is not None

    def matches(self, record: Record) -> bool:
        """Whether ``record`` is about the object, at the level, within the time."""
        if LEVELS.index(_level(record.level)) < LEVELS.index(self.level):
            return False
        if self.since is not None and record.time is not None and record.time < self.since:
            return False
        if record.refs:
            return any(self._named(ref) for ref in record.refs)
        return self._mentioned(record.message)


def _level(name: str) -> str:
    name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
    return name if name in LEVELS else "INFO"


def merged(streams: Iterable[Iterable[Record]]) -> list[Record]:
    """The records of several replicas in time order (a record without a time keeps its place)."""
    everything = [record for stream in streams for record in stream]
    oldest = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    ordered = sorted(enumerate(everything), key=lambda pair: (pair[1].time or oldest, pair[0]))
    return [record for _, record in ordered] if all(r.time for r in everything) else everything


def last(found: Iterable[Record], tail: int | None) -> list[Record]:
    """The last ``tail`` records (all of them when ``tail`` is None)."""
    kept = list(found)
    return kept if tail is None else kept[-tail:] if tail > 0 else []


# -- printing -------------------------------------------------------------------

_LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red", "DEBUG": "dim"}


def show(record: Record, output: str) -> None:
    """Print one record: time, level, object, message, trace id (text), or its data."""
    if output == "json":
        click.echo(record.raw if record.fields is not None else json.dumps(record.as_data()))
        return
    if output == "yaml":
        click.echo("---\n" + yaml.safe_dump(record.as_data(), sort_keys=False).rstrip())
        return
    when = (
        record.time.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
        if record.time
        else "-"
    )
    line = Text()
    line.append(when.replace("+00:00", "Z") + " ")
    line.append(f"{record.level:<8}", style=_LEVEL_STYLES.get(record.level, ""))
    if record.refs:
        line.append(record.object + " ", style="cyan")
    line.append(record.message)
    if record.trace_id:
        line.append(f" trace_id={record.trace_id}", style="dim")
    if output == "wide":
        extras = {k: v for k, v in (record.fields or {}).items() if k not in _BASE_FIELDS}
        details = [f"logger={record.logger}"] if record.logger else []
        details += [f"pod={record.source}"] if record.source else []
        details += [f"{k}={json.dumps(v, default=str)}" for k, v in extras.items()]
        if details:
            line.append(" " + " ".join(details), style="dim")
    console.out.print(line, soft_wrap=True)


# -- reading ----------------------------------------------------------------------


def _operator_pods(client: kube.Kube, namespace: str) -> list[str]:
    pods = client.list_objects("v1", "Pod", namespace=namespace, label_selector=POD_SELECTOR)
    names = sorted(pod["metadata"]["name"] for pod in pods)
    if not names:
        raise errors.TerminalError(
            f"no operator pods in namespace {namespace} (label {POD_SELECTOR})",
            hint=f"for an operator run locally give its log with --file (`landlord up` writes "
            f"{DEMO_LOG}; `landlord run` logs to stderr)",
        )
    return names


def _from_pods(client: kube.Kube, namespace: str, since: int | None) -> list[Record]:
    streams = [
        list(
            records(
                podlogs.read(client, namespace, pod, container=CONTAINER, since_seconds=since),
                source=pod,
            )
        )
        for pod in _operator_pods(client, namespace)
    ]
    return merged(streams)


def _follow_pods(client: kube.Kube, namespace: str, since: int | None) -> Iterator[Record]:
    """Every replica's new records, as they come (each pod read by a thread of its own).

    Ends when every pod's stream ended (the pods stopped); a stream that broke is
    reported on stderr.
    """
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def pump(pod: str) -> None:
        try:
            for line in podlogs.follow(
                client, namespace, pod, container=CONTAINER, since_seconds=since
            ):
                lines.put((pod, line))
        except errors.ApiError as error:
            console.err.print(f"the log of pod {pod} ended: {error.message}", markup=False)
        finally:
            lines.put((pod, None))

    pods = _operator_pods(client, namespace)
    for pod in pods:
        threading.Thread(target=pump, args=(pod,), daemon=True, name=f"logs-{pod}").start()
    streaming = set(pods)
    pending: dict[str, Record] = {}  # a text record per pod, until its next one starts
    while streaming:
        try:
            pod, line = lines.get(timeout=0.5)
        except queue.Empty:
            yield from pending.values()  # nothing followed them for a moment: complete
            pending.clear()
            continue
        if line is None:
            streaming.discard(pod)
            if pod in pending:
                yield pending.pop(pod)
            continue
        record = parse(line, source=pod)
        if record is None:
            if pod in pending:
                kept = _STAMP.match(line)
                pending[pod].message += "\n" + (kept["rest"] if kept else line)
            continue
        if pod in pending:
            yield pending.pop(pod)
        if record.fields is None:
            pending[pod] = record
        else:
            yield record


def _follow_file(stream: TextIO, *, poll: float = 0.5) -> Iterator[str | None]:
    """The lines of ``stream`` and those appended later (``tail -f``), until interrupted.

    None each time it is idle (a text record waiting for its end is complete then).
    """
    partial = ""
    while True:
        chunk = stream.readline()
        if chunk:
            partial += chunk
            if partial.endswith("\n"):
                yield partial
                partial = ""
            continue
        if stream is sys.stdin:
            if partial:
                yield partial
            return  # stdin closed: nothing more will come
        yield None
        time.sleep(poll)


@click.command("logs")
@click.option(
    "--kind",
    type=click.Choice(sorted(kinds.ALIASES), case_sensitive=False),
    metavar="KIND",
    help="The object's kind or alias (ks, source, tenant, hr, ...).",
)
@click.option("--name", help="The object's name.")
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="The object's namespace (default: any). The operator's own namespace is the "
    "platform namespace (LANDLORD_PLATFORM_NAMESPACE).",
)
@click.option(
    "--level",
    type=click.Choice([level.lower() for level in LEVELS], case_sensitive=False),
    default="debug",
    show_default=True,
    help="Only records at this level or above.",
)
@click.option("--since", metavar="DURATION", help="Only records newer than this, e.g. 10m or 1h.")
@click.option(
    "--tail",
    type=click.IntRange(min=0),
    default=None,
    help="Only the last N matching records (then new ones with --follow).",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records until Ctrl-C.")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=pathlib.Path),
    help=f"Read this log file ('-': stdin) instead of the operator pods' logs: the log of an "
    f"operator run locally (`landlord up` writes {DEMO_LOG}; `landlord run` logs to stderr, "
    f"e.g. `landlord run 2>&1 | landlord logs --file - ...`).",
)
@formats.output_option
@click.pass_obj
def logs_command(
    settings: Settings,
    kind: str | None,
    name: str | None,
    namespace: str | None,
    level: str,
    since: str | None,
    tail: int | None,
    follow: bool,
    file: pathlib.Path | None,
    output: str,
) -> None:
    """The operator's log records about one object, oldest first.

    By default the logs of every operator pod (all replicas and shards, found in the
    platform namespace by the chart's label app.kubernetes.io/name=landlord),
    merged by time; with --file, a log an operator run locally wrote. JSON records
    (LANDLORD_TELEMETRY__LOG_FORMAT=json, the default) are matched by the object
    they name (controller and key, kustomization, tenant, kopf's object); text
    records, and JSON ones that name no object, by NAME (NAMESPACE/NAME with -n)
    in their message.

    Each record prints as time, level, object, message and trace id (-o wide adds
    the logger, the pod and the other fields); -o json prints the JSON records as
    they were written (text records as JSON), one per line.
    """
    seconds: int | None = None
    if since:
        try:
            seconds = max(1, int(durations.parse(since)))
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--since") from None
    target = Target(
        kind=kinds.resolve(kind).name if kind else None,
        name=name,
        namespace=namespace,
        level=level.upper(),
        since=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds)
        if seconds
        else None,
    )
    if file is not None:
        _from_file(file, target, tail, follow, output)
        return
    client = kube.connect()
    where = settings.platform_namespace
    started = time.monotonic()
    read = _from_pods(client, where, seconds)
    found = [r for r in read if target.matches(r)]
    for record in last(found, tail):
        show(record, output)
    if follow:
        # The stream starts a little before the end of what was read (nothing is lost
        # in between); what was read already is not printed twice.
        newest = max((r.time for r in read if r.time is not None), default=None)
        overlap = int(time.monotonic() - started) + 2
        for record in _follow_pods(client, where, overlap):
            fresh = newest is None or record.time is None or record.time > newest
            if fresh and target.matches(record):
                show(record, output)
    elif not found and not formats.structured(output):
        console.err.print(_nothing(target))


def _nothing(target: Target) -> str:
    about = f" about {target.kind or 'any kind'} {target.name}" if target.name else ""
    return f"no log records{about} at {target.level} or above"


def _from_file(
    path: pathlib.Path, target: Target, tail: int | None, follow: bool, output: str
) -> None:
    stream: TextIO = sys.stdin if str(path) == "-" else path.open(errors="replace")
    try:
        if not follow:
            found = [r for r in records(stream) if target.matches(r)]
            for record in last(found, tail):
                show(record, output)
            if not found and not formats.structured(output):
                console.err.print(_nothing(target))
            return
        existing = stream.readlines() if stream is not sys.stdin else []
        for record in last((r for r in records(existing) if target.matches(r)), tail):
            show(record, output)
        for record in records(_follow_file(stream)):
            if target.matches(record):
                show(record, output)
    finally:
        if stream is not sys.stdin:
            stream.close()
