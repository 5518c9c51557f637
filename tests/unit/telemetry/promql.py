"""Just enough PromQL to hold a query to the metrics it names: which, and with which labels.

A tokenizer and a recursive-descent parser for the PromQL our dashboard and
alerts use (selectors, range vectors, subqueries, functions, aggregations with
``by``/``without``, binary operators with ``on``/``ignoring``/``group_*``).
While it parses, it works out the labels every sub-expression's series carry,
so it can say when a query names a metric that is not exported, matches a
label the metric does not have, or groups, joins or prints (legend, alert
annotation) by a label that is not there any more — the mistakes that leave a
panel empty without an error.

Not supported (an error, never a pass): metric names that start with a
colon, ``label_replace``/``label_join`` and ``count_values``.

Grafana's interval variables (``$__rate_interval``, ``$__interval``,
``$__range``) stand for durations; other ``$variables`` may appear only inside
label values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

# Labels Prometheus gives every scraped series (the chart's ServiceMonitor adds
# more; the dashboard and the alerts use only these).
TARGET_LABELS = frozenset({"job", "instance", "pod"})

# name -> its labels; None: the metric exists but its labels are not known
# (a family declared in an exposition without a sample yet).
Catalogue = Mapping[str, frozenset[str] | None]

_GRAFANA_DURATIONS = re.compile(
    r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}"
)
_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<duration>(?:\d+(?:ms|s|m|h|d|w|y))+)(?![\w.])
  | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_][a-zA-Z0-9_:]*)
  | (?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=@])
  | (?P<punct>[{}()\[\],:])
  | (?P<variable>\$\w+|\$\{\w+\})
    """,
    re.VERBOSE,
)

AGGREGATIONS = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)
# Aggregations whose first argument is a parameter, and that keep their input's labels.
_PARAMETERISED = frozenset({"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"})
_KEEP_LABELS = frozenset({"bottomk", "topk", "limitk", "limit_ratio"})

# Functions that return their (instant or range) vector argument's labels.
_SAME_LABELS = frozenset(
    {
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "resets",
        "changes",
        "abs",
        "ceil",
        "floor",
        "round",
        "exp",
        "sqrt",
        "ln",
        "log2",
        "log10",
        "sgn",
        "clamp",
        "clamp_min",
        "clamp_max",
        "sort",
        "sort_desc",
        "timestamp",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "last_over_time",
        "present_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "quantile_over_time",
        "predict_linear",
        "holt_winters",
        "absent",
        "absent_over_time",
    }
)
# Of those, the ones over a range of series.
_RANGE_FUNCTIONS = frozenset(
    {"rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes"}
    | {"predict_linear", "holt_winters", "absent_over_time"}
    | {f"{what}_over_time" for what in ("avg", "min", "max", "sum", "count", "last")}
    | {f"{what}_over_time" for what in ("present", "stddev", "stdvar", "quantile")}
)
_SCALAR_FUNCTIONS = frozenset({"time", "scalar", "pi"})
_SET_OPERATORS = frozenset({"and", "or", "unless"})
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "unless": 2,
    **dict.fromkeys(_COMPARISONS, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "atan2": 5,
    "^": 6,
}
_KEYWORDS = frozenset(
    {*AGGREGATIONS, *_SET_OPERATORS, "by", "without", "on", "ignoring", "group_left"}
    | {"group_right", "bool", "offset", "atan2", "inf", "nan"}
)


class PromQLError(ValueError):
    """The text is not PromQL this module understands."""


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


@dataclasses.dataclass(frozen=True)
class Value:
    """What an expression evaluates to: a scalar, a string, or series with these labels.

    ``labels`` None: series whose labels are not known (every label passes).
    """

    kind: str  # "scalar", "string", "vector", "range"
    labels: frozenset[str] | None = frozenset()

    def has(self, label: str) -> bool:
        return self.labels is None or label in self.labels

    def keep(self, labels: Iterable[str]) -> Value:
        return Value(self.kind, frozenset(labels))

    def plus(self, labels: Iterable[str] | None) -> Value:
        if self.labels is None or labels is None:
            return Value(self.kind, None)
        return Value(self.kind, self.labels | set(labels))

    def minus(self, labels: Iterable[str]) -> Value:
        return self if self.labels is None else Value(self.kind, self.labels - set(labels))


@dataclasses.dataclass
class Analysis:
    """What one query names, the labels of its result, and what is wrong with it."""

    query: str
    metrics: set[str] = dataclasses.field(default_factory=set)
    problems: list[str] = dataclasses.field(default_factory=list)
    result: Value = Value("vector")


def tokenize(query: str) -> list[Token]:
    """The tokens of ``query``, its Grafana interval variables read as a duration."""
    text = _GRAFANA_DURATIONS.sub(lambda m: "5m".ljust(len(m.group(0))), query)
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise PromQLError(f"unexpected {text[at : at + 10]!r} at {at} in {query!r}")
        kind = match.lastgroup or ""
        if kind == "variable":
            raise PromQLError(f"{match.group()} outside a label value in {query!r}")
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    return tokens


def analyse(query: str, catalogue: Catalogue) -> Analysis:
    """Parse ``query`` and check the metrics and labels it names against ``catalogue``."""
    analysis = Analysis(query)
    parser = _Parser(tokenize(query), catalogue, analysis)
    analysis.result = parser.expression()
    extra = parser.peek()
    if extra is not None:
        raise PromQLError(f"unexpected {extra.text!r} at {extra.at} in {query!r}")
    return analysis


def legend_labels(legend: str) -> set[str]:
    """Labels a Grafana legend prints (``{{ready}}``)."""
    return set(re.findall(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", legend))


def annotation_labels(text: str) -> set[str]:
    """Labels an alert's annotation prints (``{{ $labels.namespace }}``)."""
    return set(re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", text))


def samples_of(name: str, kind: str, labels: Iterable[str]) -> dict[str, frozenset[str]]:
    """The sample names a metric family of ``kind`` exports, each with its labels."""
    own = frozenset(labels)
    if kind == "counter":
        base = name.removesuffix("_total")
        return {f"{base}_total": own, f"{base}_created": own}
    if kind == "histogram":
        return {
            f"{name}_bucket": own | {"le"},
            f"{name}_sum": own,
            f"{name}_count": own,
            f"{name}_created": own,
        }
    if kind == "summary":
        return {name: own | {"quantile"}, f"{name}_sum": own, f"{name}_count": own}
    return {name: own}


Matching = tuple[str, list[str], str, list[str]]  # on|ignoring, labels, group_*, included


class _Parser:
    def __init__(self, tokens: list[Token], catalogue: Catalogue, analysis: Analysis) -> None:
        self.tokens = tokens
        self.position = 0
        self.catalogue = catalogue
        self.analysis = analysis

    # -- tokens ----------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise PromQLError(f"{self.analysis.query!r} ends early (wanted {text or kind})")
        if (text is not None and token.text.lower() != text) or (
            kind is not None and token.kind != kind
        ):
            raise PromQLError(
                f"wanted {text or kind}, got {token.text!r} at {token.at} "
                f"in {self.analysis.query!r}"
            )
        self.position += 1
        return token

    def at(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind != "string" and token.text.lower() in texts

    def problem(self, message: str) -> None:
        self.analysis.problems.append(message)

    # -- expressions -------------------------------------------------------------

    def expression(self, floor: int = 0) -> Value:
        """Operands joined by binary operators, by precedence (``^`` to the right)."""
        left = self.unary()
        while True:
            token = self.peek()
            operator = "" if token is None or token.kind == "string" else token.text.lower()
            precedence = _PRECEDENCE.get(operator)
            if precedence is None or precedence < floor:
                return left
            self.position += 1
            returns_bool = self.at("bool")
            if returns_bool:
                self.take("bool")
            matching = self.matching()
            right = self.expression(precedence if operator == "^" else precedence + 1)
            left = self.binary(operator, left, right, matching)

    def matching(self) -> Matching | None:
        if not self.at("on", "ignoring"):
            return None
        how = self.take().text.lower()
        labels = self.label_list()
        group, included = "", []
        if self.at("group_left", "group_right"):
            group = self.take().text.lower()
            if self.at("("):
                included = self.label_list()
        return how, labels, group, included

    def binary(self, operator: str, left: Value, right: Value, matching: Matching | None) -> Value:
        """The result's labels as Prometheus computes them (engine.go, resultMetric)."""
        if left.kind != "vector" or right.kind != "vector":
            if operator in _SET_OPERATORS:
                self.problem(f"'{operator}' needs series on both sides")
            if left.kind == "vector":
                return left
            return right if right.kind == "vector" else Value("scalar")
        how, labels, group, included = matching or ("", [], "", [])
        for label in labels:
            if how == "on" and not (left.has(label) and right.has(label)):
                self.problem(f"on ({label}): not a label of both sides")
            if how == "ignoring" and not (left.has(label) or right.has(label)):
                self.problem(f"ignoring ({label}): not a label of either side")
        for label in included:
            if not (right if group == "group_left" else left).has(label):
                self.problem(f"{group} ({label}): not a label of the other side")
        if operator == "or":
            return left.plus(right.labels)
        if operator in ("and", "unless"):
            return left
        if group == "group_left":
            return left.plus(included)
        if group == "group_right":
            return right.plus(included)
        if how == "on":
            return left.keep(labels)
        return left.minus(labels)

    def unary(self) -> Value:
        if self.at("-", "+"):
            self.take()
            return self.unary()
        return self.suffixes(self.primary())

    def suffixes(self, value: Value) -> Value:
        """``[range]``, ``[range:step]``, ``offset d`` and ``@ t`` after an operand."""
        while True:
            if self.at("["):
                self.take("[")
                self.take(kind="duration")
                if self.at(":"):
                    self.take(":")
                    if not self.at("]"):
                        self.take(kind="duration")
                self.take("]")
                if value.kind != "vector":
                    self.problem("a range of something that is not series")
                value = Value("range", value.labels)
            elif self.at("offset"):
                self.take("offset")
                if self.at("-"):
                    self.take("-")
                self.take(kind="duration")
            elif self.at("@"):
                self.take("@")
                if self.at("start", "end"):
                    self.take()
                    self.take("(")
                    self.take(")")
                else:
                    self.take(kind="number")
            else:
                return value

    def primary(self) -> Value:
        token = self.peek()
        if token is None:
            raise PromQLError(f"{self.analysis.query!r} ends early")
        if token.kind == "number" or (
            token.kind == "ident" and token.text.lower() in ("inf", "nan")
        ):
            self.position += 1
            return Value("scalar")
        if token.kind == "string":
            self.position += 1
            return Value("string")
        if token.text == "(":
            self.take("(")
            value = self.expression()
            self.take(")")
            return value
        if token.text == "{":
            raise PromQLError(f"a selector without a metric name in {self.analysis.query!r}")
        if token.kind != "ident":
            raise PromQLError(f"unexpected {token.text!r} at {token.at} in {self.analysis.query!r}")
        following = self.peek(1)
        opens = following is not None and following.text == "("
        if token.text.lower() in AGGREGATIONS and (
            opens or (following is not None and following.text.lower() in ("by", "without"))
        ):
            return self.aggregation()
        if opens:
            return self.function()
        if token.text.lower() in _KEYWORDS:
            raise PromQLError(f"unexpected {token.text!r} in {self.analysis.query!r}")
        return self.selector()

    def selector(self) -> Value:
        name = self.take(kind="ident").text
        self.analysis.metrics.add(name)
        if name not in self.catalogue:
            self.problem(f"{name}: no such metric")
        known = self.catalogue.get(name)
        value = Value("vector", None if known is None else known | TARGET_LABELS)
        if not self.at("{"):
            return value
        self.take("{")
        while not self.at("}"):
            label = self.take(kind="ident").text
            operator = self.take(kind="op").text
            if operator not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"{operator!r} is not a label matcher in {self.analysis.query!r}")
            self.take(kind="string")
            if label == "__name__":
                self.problem(f"{name}: name the metric, do not match __name__")
            elif name in self.catalogue and not value.has(label):
                self.problem(f"{name}{{{label}}}: no such label")
            if not self.at("}"):
                self.take(",")
        self.take("}")
        return value

    def label_list(self) -> list[str]:
        self.take("(")
        labels: list[str] = []
        while not self.at(")"):
            labels.append(self.take(kind="ident").text)
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return labels

    def arguments(self) -> list[Value]:
        self.take("(")
        values: list[Value] = []
        while not self.at(")"):
            values.append(self.expression())
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return values

    def aggregation(self) -> Value:
        operator = self.take(kind="ident").text.lower()
        grouping: tuple[str, list[str]] | None = None
        if self.at("by", "without"):
            grouping = (self.take().text.lower(), self.label_list())
        arguments = self.arguments()
        if grouping is None and self.at("by", "without"):
            grouping = (self.take().text.lower(), self.label_list())
        if operator == "count_values":
            raise PromQLError("count_values is not supported by this checker; extend it")
        wanted = 2 if operator in _PARAMETERISED else 1
        if len(arguments) != wanted or arguments[-1].kind != "vector":
            self.problem(f"{operator}: wants {wanted} argument(s), the last of them series")
            return Value("vector", None)
        series = arguments[-1]
        if grouping is None:
            return series if operator in _KEEP_LABELS else series.keep(())
        how, labels = grouping
        for label in labels:
            if not series.has(label):
                self.problem(f"{operator} {how} ({label}): not a label of what it aggregates")
        if operator in _KEEP_LABELS:
            return series
        return series.keep(labels) if how == "by" else series.minus(labels)

    def function(self) -> Value:
        name = self.take(kind="ident").text
        arguments = self.arguments()
        if name in _SCALAR_FUNCTIONS:
            return Value("scalar")
        if name == "vector":
            return Value("vector")
        if name in ("label_replace", "label_join"):
            raise PromQLError(f"{name} is not supported by this checker; extend it")
        if name == "histogram_quantile":
            if len(arguments) != 2 or arguments[1].kind != "vector":
                self.problem("histogram_quantile: wants a quantile and series")
                return Value("vector", None)
            if not arguments[1].has("le"):
                self.problem("histogram_quantile: its series have no 'le' label")
            return arguments[1].minus({"le"})
        if name not in _SAME_LABELS:
            self.problem(f"{name}: a function this checker does not know")
        series = [a for a in arguments if a.kind in ("vector", "range")]
        if not series:
            self.problem(f"{name}: no series given")
            return Value("vector", None)
        if name in _RANGE_FUNCTIONS and series[0].kind != "range":
            self.problem(f"{name}: wants a range of series ([5m])")
        return Value("vector", series[0].labels)
