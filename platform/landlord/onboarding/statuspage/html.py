"""Server-rendered HTML for the status page: every value escaped, no template engine.

Each view renders its ``<main>`` content on its own (:func:`main_of`), so the
live-update stream can send just that part; :func:`page` wraps it in the layout.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from html import escape

from landlord.onboarding.statuspage import graph as graph_mod
from landlord.onboarding.statuspage import view
from landlord.onboarding.statuspage.cache import Snapshot


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _tenant_link(name: str) -> str:
    return f'<a href="/ui/tenants/{_e(urllib.parse.quote(name, safe=""))}">{_e(name)}</a>'


def _time(stamp: str) -> str:
    if not stamp:
        return '<span class="muted">-</span>'
    shown = stamp.replace("T", " ").split("+")[0].rstrip("Z").split(".")[0]
    return f'<time datetime="{_e(stamp)}">{_e(shown)}</time>'


def _badge(ready: view.Readiness, suspended: bool = False) -> str:
    word = "Suspended" if suspended else ready.word
    state = "suspended" if suspended else ready.word.lower()
    return f'<span class="badge badge-{state}">{_e(word)}</span>'


def _table(caption: str, headers: Iterable[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _message(ready: view.Readiness) -> str:
    if not ready.reason and not ready.message:
        return ""
    return f'<span class="reason">{_e(ready.reason)}</span> {_e(ready.message)}'


# -- views -----------------------------------------------------------------------------


SHOWN_FAILING = 3  # per tenant on the overview; its own page lists them all


def _syncs(row: view.TenantRow) -> str:
    if not row.failing:
        return f"{row.syncs_ready}/{row.syncs}"
    return f'<span class="badge badge-failing">{len(row.failing)} failing</span> ' + (
        f"{row.syncs_ready}/{row.syncs}"
    )


def _failing(row: view.TenantRow) -> str:
    """The tenant's failing sources and syncs, each with its reason and message, cut short."""
    if not row.failing:
        return ""
    items = "".join(
        f'<li><span class="failing">{_e(item.kind)}/{_e(item.key)}</span>: '
        f'<span class="reason">{_e(item.ready.reason)}</span> {_e(_cut(item.ready.message))}</li>'
        for item in row.failing[:SHOWN_FAILING]
    )
    more = len(row.failing) - SHOWN_FAILING
    if more > 0:
        items += f"<li>and {more} more on {_tenant_link(row.name)}</li>"
    return f'<ul class="failing-list">{items}</ul>'


def _cut(text: str, size: int = 240) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def overview(snapshot: Snapshot, viewer: view.Viewer) -> str:
    rows = view.tenants(snapshot, viewer)
    counts = {word: sum(1 for r in rows if r.ready.word == word) for word in ("Ready", "Failing")}
    pending = len(rows) - counts["Ready"] - counts["Failing"]
    broken = sum(len(r.failing) for r in rows)
    summary = (
        f'<p class="summary" id="summary">{len(rows)} tenants: '
        f'<span class="badge badge-ready">{counts["Ready"]} Ready</span> '
        f'<span class="badge badge-failing">{counts["Failing"]} Failing</span> '
        f'<span class="badge badge-pending">{pending} Pending</span>; '
        f'<span class="badge badge-{"failing" if broken else "ready"}">'
        f"{broken} sources and syncs failing</span></p>"
    )
    body = [
        f'<tr data-tenant="{_e(r.name)}"><th scope="row">{_tenant_link(r.name)}</th>'
        f"<td>{_badge(r.ready, r.suspended)}</td>"
        f"<td>{_e(', '.join(r.namespaces))}</td>"
        f"<td>{_syncs(r)}</td><td>{_message(r.ready)}{_failing(r)}</td></tr>"
        for r in rows
    ]
    loading = (
        ""
        if snapshot.synced
        else '<p class="muted" role="status">Still reading the cluster: some objects may be '
        "missing until every watch has listed once.</p>"
    )
    return (
        "<h1>Tenants</h1>"
        + loading
        + summary
        + _table(
            "Tenants and their readiness",
            ("Tenant", "State", "Namespaces", "Syncs Ready", "Message (and what is failing)"),
            body,
            "No tenants you may see.",
        )
    )


# Conditions whose True is the bad news (Flux's "abnormal-true" polarity).
ABNORMAL_TRUE = frozenset({"Stalled", "Reconciling"})


def _polarity(condition: view.Condition) -> str:
    """``good``, ``bad`` or ``unknown``, whatever the condition's own polarity."""
    if condition.status not in ("True", "False"):
        return "unknown"
    good = (condition.status == "True") != (condition.type in ABNORMAL_TRUE)
    return "good" if good else "bad"


def _conditions(items: Iterable[view.Condition]) -> str:
    rows = [
        f'<li><span class="cond cond-{_polarity(c)}">{_e(c.type)}={_e(c.status)}</span> '
        f'<span class="reason">{_e(c.reason)}</span> {_e(c.message)} '
        f'<span class="muted">since {_time(c.since)}</span></li>'
        for c in items
    ]
    return f'<ul class="conditions">{"".join(rows)}</ul>' if rows else ""


def tenant(snapshot: Snapshot, viewer: view.Viewer, name: str) -> str | None:
    found = view.tenant(snapshot, viewer, name)
    if found is None:
        return None
    row = found.row
    sources = [
        f'<tr data-key="{_e(s.key)}"><th scope="row">{_e(s.kind)}/{_e(s.key)}</th>'
        f"<td>{_badge(s.ready, s.suspended)}</td><td><code>{_e(s.detail)}</code></td>"
        f"<td><code>{_e(s.revision) or '-'}</code></td><td>{_time(s.last)}</td>"
        f"<td>{_message(s.ready)}</td></tr>"
        for s in found.sources
    ]
    syncs = [
        f'<tr data-key="{_e(s.key)}"><th scope="row">{_e(s.kind)}/{_e(s.key)}</th>'
        f"<td>{_badge(s.ready, s.suspended)}</td><td>{_e(s.detail)}</td>"
        f"<td><code>{_e(s.revision) or '-'}</code></td><td>{_time(s.last)}</td>"
        f"<td>{_e(s.drift) or '-'}</td><td>{_conditions(s.conditions)}</td></tr>"
        for s in found.syncs
    ]
    return (
        f"<h1>Tenant {_e(row.name)} {_badge(row.ready, row.suspended)}</h1>"
        f"<p>Namespaces: {_e(', '.join(row.namespaces))}</p>"
        f"{_conditions(found.conditions)}"
        "<h2>Sources</h2>"
        + _table(
            f"Sources of {row.name}",
            ("Source", "State", "URL", "Revision", "Last fetch", "Message"),
            sources,
            "No sources.",
        )
        + "<h2>Syncs</h2>"
        + _table(
            f"Syncs of {row.name}",
            (
                "Sync",
                "State",
                "From",
                "Applied revision",
                "Last apply",
                "Last drift repair",
                "Conditions",
            ),
            syncs,
            "No syncs.",
        )
    )


def dependency_graph(snapshot: Snapshot, viewer: view.Viewer, decide: view.Decide) -> str:
    drawn = view.graph(snapshot, viewer, decide)
    rows = [
        f'<tr class="edge-row edge-row-{"allowed" if e.decision.allowed else "denied"}">'
        f"<td>{_e(e.source)}</td><td>{_e(e.target)}</td>"
        f"<td>{'cross-tenant' if e.cross_tenant else 'own tenant'}</td>"
        f"<td>{'allowed' if e.decision.allowed else '<strong>denied</strong>'}</td>"
        f"<td>{_e(e.decision.why)}</td></tr>"
        for e in drawn.edges
    ]
    legend = (
        '<p class="legend"><span class="key key-internal">own tenant</span> '
        '<span class="key key-allowed">cross-tenant, allowed</span> '
        '<span class="key key-denied">denied by policy</span></p>'
    )
    picture = graph_mod.svg(drawn) or '<p class="empty">No Kustomizations you may see.</p>'
    return (
        "<h1>Dependency graph</h1>"
        + legend
        + f'<div class="graph-box">{picture}</div>'
        + "<h2>Edges</h2>"
        + _table(
            "dependsOn edges and the policy's decision",
            ("Kustomization", "Depends on", "Scope", "Decision", "Why"),
            rows,
            "No dependsOn edges.",
        )
    )


def denials(snapshot: Snapshot, viewer: view.Viewer, decide: view.Decide) -> str:
    found = view.denials(snapshot, viewer, view.graph(snapshot, viewer, decide))
    rows = [
        f"<tr><td>{_e(d.kind)}</td><td>{_e(d.key)}</td>"
        f"<td>{_tenant_link(d.tenant) if d.tenant else '-'}</td><td>{_e(d.message)}</td></tr>"
        for d in found
    ]
    return "<h1>Policy denials</h1>" + _table(
        "What the policy refused",
        ("What", "Object", "Tenant", "Decision"),
        rows,
        "Nothing is denied.",
    )


def main_of(
    path: str, snapshot: Snapshot, viewer: view.Viewer, decide: view.Decide
) -> tuple[str, str] | None:
    """(title, main HTML) of the view at ``path`` (None: no such view, or not the viewer's)."""
    if path in ("/ui", "/ui/"):
        return "Tenants", overview(snapshot, viewer)
    if path == "/ui/graph":
        return "Dependency graph", dependency_graph(snapshot, viewer, decide)
    if path == "/ui/denials":
        return "Policy denials", denials(snapshot, viewer, decide)
    prefix = "/ui/tenants/"
    if path.startswith(prefix):
        name = urllib.parse.unquote(path[len(prefix) :])
        content = tenant(snapshot, viewer, name)
        return None if content is None else (f"Tenant {name}", content)
    return None


# -- the layout ------------------------------------------------------------------------


def page(title: str, main: str, *, viewer: str | None, path: str, version: int = 0) -> str:
    """A whole page: the navigation, ``main``, and the live-update script."""
    nav = ""
    if viewer is not None:
        links = [("/ui", "Tenants"), ("/ui/graph", "Dependency graph"), ("/ui/denials", "Denials")]
        current = ' aria-current="page"'
        items = "".join(
            f'<li><a href="{href}"{current if href == path else ""}>{label}</a></li>'
            for href, label in links
        )
        nav = (
            f'<nav aria-label="Views"><ul>{items}</ul></nav>'
            f'<div class="who">signed in as <strong>{_e(viewer)}</strong> '
            f'<span id="live" class="live" role="status">live</span>'
            '<form method="post" action="/ui/logout">'
            '<button type="submit">Sign out</button></form></div>'
        )
    return (
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Landlord</title>"
        '<link rel="stylesheet" href="/ui/static/app.css">'
        '<script src="/ui/static/app.js" defer></script></head>'
        f'<body data-path="{_e(path)}" data-version="{version}">'
        '<a class="skip" href="#main">Skip to content</a>'
        f'<header><span class="brand">Landlord</span>{nav}</header>'
        f'<main id="main" tabindex="-1">{main}</main></body></html>'
    )


def login(problem: str = "") -> str:
    """The sign-in form: a bearer token, kept server-side in the session."""
    error = f'<p class="error" role="alert">{_e(problem)}</p>' if problem else ""
    return page(
        "Sign in",
        "<h1>Sign in</h1>"
        "<p>Paste a Kubernetes bearer token issued for this API's audience, e.g. "
        "<code>kubectl create token SERVICE-ACCOUNT --audience landlord</code>. "
        "The page is read-only; the policy's <code>api:list</code> shows every tenant, "
        "otherwise you see the tenants you own.</p>"
        + error
        + '<form method="post" action="/ui/login" class="login">'
        '<label for="token">Bearer token</label>'
        '<textarea id="token" name="token" rows="4" required autocomplete="off" '
        'spellcheck="false"></textarea>'
        '<button type="submit">Sign in</button></form>',
        viewer=None,
        path="/ui/login",
    )
