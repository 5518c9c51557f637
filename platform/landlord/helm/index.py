"""A chart repository's ``index.yaml``: parsed with caps, and the version a range selects.

The index is tenant-controlled input (the repository is the tenant's choice):
it is parsed with the safe loader (no tags, no aliases beyond a few), its size
and entry counts are capped, and only the fields Landlord uses are kept —
name, version, the URLs and digest of each chart version.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from typing import Any

import yaml

from landlord import errors
from landlord.gitops import semver

MAX_CHARTS = 10_000  # chart names in one index
MAX_VERSIONS = 200_000  # chart versions in all
MAX_NODES = 5_000_000  # YAML nodes of the whole index, counted before anything is built

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InvalidIndexError(errors.TerminalError):
    """The index cannot be used; the message says why."""

    reason = "IndexInvalid"


class ChartNotFoundError(errors.TerminalError):
    """No version of the chart matches the range."""

    reason = "ChartNotFound"


@dataclasses.dataclass(frozen=True)
class ChartVersion:
    """One version of one chart in the index."""

    name: str
    version: str
    urls: tuple[str, ...]
    digest: str = ""  # the index's sha256 of the archive, when it states one


@dataclasses.dataclass(frozen=True)
class Index:
    """The charts of a repository, by name."""

    charts: dict[str, tuple[ChartVersion, ...]]

    @property
    def versions(self) -> int:
        return sum(len(v) for v in self.charts.values())

    def to_json(self) -> bytes:
        """What the artifact store keeps: only the fields used, compact."""
        return json.dumps(
            {
                name: [[v.version, list(v.urls), v.digest] for v in versions]
                for name, versions in sorted(self.charts.items())
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Index:
        raw = json.loads(data)
        return cls(
            {
                name: tuple(ChartVersion(name, v, tuple(u), d) for v, u, d in versions)
                for name, versions in raw.items()
            }
        )

    def select(self, chart: str, version_range: str) -> ChartVersion:
        """The highest version of ``chart`` in ``version_range`` (``*``: the highest release)."""
        versions = self.charts.get(chart)
        if not versions:
            raise ChartNotFoundError(f"the repository has no chart named {chart!r}")
        wanted = semver.Range.parse(version_range)
        by_tag = {v.version: v for v in versions}
        best = wanted.best(by_tag)
        if best is None:
            shown = ", ".join(sorted(by_tag, reverse=True)[:5])
            raise ChartNotFoundError(
                f"no version of chart {chart!r} matches {version_range!r} (the repository has "
                f"{len(by_tag)}: {shown}{', …' if len(by_tag) > 5 else ''})"
            )
        return by_tag[best]


def parse(data: bytes, *, source: str) -> Index:
    """Parse an index; :class:`InvalidIndexError` on anything but a well-formed one."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise InvalidIndexError(f"{source} is not UTF-8 text") from None
    nodes = refuse_aliases(text, source)
    if nodes > MAX_NODES:
        raise InvalidIndexError(f"{source} has more than {MAX_NODES} YAML nodes")
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - the safe loader, aliases refused
    except yaml.YAMLError as error:
        raise InvalidIndexError(f"{source} is not valid YAML: {_first_line(error)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
        raise InvalidIndexError(f"{source} has no 'entries' map: not a Helm repository index")
    entries: dict[str, Any] = document["entries"]
    if len(entries) > MAX_CHARTS:
        raise InvalidIndexError(f"{source} lists more than {MAX_CHARTS} charts")
    charts: dict[str, tuple[ChartVersion, ...]] = {}
    total = 0
    for name, versions in entries.items():
        if not isinstance(versions, list):
            raise InvalidIndexError(f"{source}: entries.{name} is not a list")
        total += len(versions)
        if total > MAX_VERSIONS:
            raise InvalidIndexError(f"{source} lists more than {MAX_VERSIONS} chart versions")
        kept = []
        for item in versions:
            if not isinstance(item, dict):
                continue
            version, urls = item.get("version"), item.get("urls")
            if not isinstance(version, str) or not isinstance(urls, list) or not urls:
                continue  # Helm skips such entries as well
            kept.append(
                ChartVersion(
                    str(name),
                    version,
                    tuple(str(u) for u in urls if isinstance(u, str)),
                    str(item.get("digest") or ""),
                )
            )
        charts[str(name)] = tuple(kept)
    return Index(charts)


def chart_url(repository_url: str, url: str) -> str:
    """A chart's URL from the index, made absolute against the repository's URL."""
    base = repository_url if repository_url.endswith("/") else repository_url + "/"
    return urllib.parse.urljoin(base, url)


def index_url(repository_url: str) -> str:
    """Where a repository's index lives."""
    return repository_url.rstrip("/") + "/index.yaml"


def refuse_aliases(text: str, source: str) -> int:
    """Scan the events: an alias or a custom tag refuses the text before it is composed.

    Returns how many nodes the text has (scalars, sequences and mappings).
    """
    loader = _Loader(text)
    nodes = 0
    try:
        while True:
            event = loader.get_event()
            if event is None:
                return nodes
            if isinstance(event, yaml.AliasEvent):
                raise InvalidIndexError(
                    f"{source} uses YAML aliases, which an index has no use for"
                )
            if isinstance(
                event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.MappingStartEvent
            ):
                nodes += 1
            tag = getattr(event, "tag", None)
            if tag and not tag.startswith("tag:yaml.org,2002:"):
                raise InvalidIndexError(f"{source} uses the YAML tag {tag!r}")
            if isinstance(event, yaml.StreamEndEvent):
                return nodes
    except yaml.YAMLError as error:
        raise InvalidIndexError(f"{source} is not valid YAML: {_first_line(error)}") from None
    finally:
        loader.dispose()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


__all__ = [
    "ChartNotFoundError",
    "ChartVersion",
    "Index",
    "InvalidIndexError",
    "chart_url",
    "index_url",
    "parse",
]
