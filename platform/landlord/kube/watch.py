"""Watch one kind by label selector: list, then watch, relist when expired.

One watch per kind across the cluster (or, for kinds the operator may read only
in some namespaces, per namespace) feeds every Kustomization's drift detection.
Callbacks run in the caller's thread; an error relists after a short pause, so
a restarted apiserver or an expired resourceVersion only costs one LIST. A
refusal (403), or a cluster that does not answer at all (a registered one that
is down), is not a blip: it is retried with a backoff up to
``FORBIDDEN_BACKOFF_MAX`` (a refusal) or ``UNREACHABLE_BACKOFF_MAX`` (no
answer) and logged once per streak.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch as k8s_watch

from landlord import errors
from landlord.kube.client import Kube, _translated, plain

log = logging.getLogger(__name__)

FORBIDDEN_BACKOFF_MAX = 60.0
# An apiserver that does not answer (restarting, a network blip) is tried again
# sooner: a watch that waits a minute after it is back repairs drift a minute late.
UNREACHABLE_BACKOFF_MAX = 10.0

OnList = Callable[[list[dict[str, Any]]], None]
OnEvent = Callable[[str, dict[str, Any]], None]


class _ExpiredError(Exception):
    """The resourceVersion is too old: list again."""


def watch_kind(
    kube: Kube | Callable[[], Kube],
    api_version: str,
    kind: str,
    *,
    label_selector: str,
    on_list: OnList,
    on_event: OnEvent,
    stop: threading.Event,
    on_broken: Callable[[], None] | None = None,
    timeout: int = 240,
    namespace: str | None = None,
) -> None:
    """Call ``on_list`` with every matching object, then ``on_event`` per change, until ``stop``.

    ``namespace``: watch only there (None: across the cluster). ``kube`` may be a
    function that returns the connection: called again at every (re)list, so a
    registered cluster's rotated credential or new connection is picked up.
    """
    forbidden = 0.0  # the current pause after a 403; 0 while the watch is allowed
    where = f"{kind} in {namespace}" if namespace else kind
    while not stop.is_set():
        try:
            client = kube() if callable(kube) else kube
            resource = client.resource(api_version, kind)
            with _translated():
                listed = resource.get(
                    label_selector=label_selector,
                    namespace=namespace,
                    serializer=plain,
                    **client.request_options(),
                )
            forbidden = 0.0
            items = listed.get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            on_list(items)
            version = (listed.get("metadata") or {}).get("resourceVersion")
            while not stop.is_set():
                version = _stream(
                    functools.partial(resource.get, **client.request_options()),
                    label_selector,
                    namespace,
                    version,
                    timeout,
                    on_event,
                    stop,
                )
        except _ExpiredError:
            pass  # list again at once
        except errors.ApiError as error:
            if error.status in (401, 403, 503):  # refused, or a cluster that does not answer
                if not forbidden:
                    log.warning(
                        "watch of %s %s: %s; its drift is repaired at each interval "
                        "until it can be watched (retrying with a backoff)",
                        where,
                        "failed" if error.status == 503 else "refused",
                        error.message,
                    )
                ceiling = UNREACHABLE_BACKOFF_MAX if error.status == 503 else FORBIDDEN_BACKOFF_MAX
                forbidden = min(max(forbidden * 2, 1.0), ceiling)
                stop.wait(forbidden)
            elif error.status != 410:
                log.warning("watch of %s failed: %s; listing again", where, error.message)
                stop.wait(1.0)
        except Exception:  # a broken connection must not end the watch
            log.exception("watch of %s failed; listing again", where)
            stop.wait(1.0)
        if on_broken is not None:
            on_broken()


def _stream(
    get: Callable[..., Any],
    label_selector: str,
    namespace: str | None,
    version: str | None,
    timeout: int,
    on_event: OnEvent,
    stop: threading.Event,
) -> str | None:
    watcher = k8s_watch.Watch()
    with _translated():
        # The dynamic client's own watch wraps each event in a ResourceInstance this
        # module never reads (only ``raw_object``): its stream, without that.
        for event in watcher.stream(
            get,
            label_selector=label_selector,
            namespace=namespace,
            resource_version=version,
            timeout_seconds=timeout,
            serialize=False,
        ):
            if stop.is_set():
                watcher.stop()
                break
            kind = event.get("type")
            raw = event.get("raw_object") or {}
            if kind == "ERROR":
                if raw.get("code") == 410:
                    raise _ExpiredError
                raise errors.ApiError(str(raw.get("message")), status=int(raw.get("code") or 0))
            version = (raw.get("metadata") or {}).get("resourceVersion") or version
            if kind == "BOOKMARK":
                continue
            on_event(str(kind), raw)
    return version
