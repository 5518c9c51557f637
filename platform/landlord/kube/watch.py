"""Watch one kind across the cluster by label selector: list, then watch, relist when expired.

One watch per kind (not per object or namespace) feeds every Kustomization's
drift detection. Callbacks run in the caller's thread; an error relists after
a short pause, so a restarted apiserver or an expired resourceVersion only
costs one LIST.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch as k8s_watch

from landlord import errors
from landlord.kube.client import Kube, _translated

log = logging.getLogger(__name__)

OnList = Callable[[list[dict[str, Any]]], None]
OnEvent = Callable[[str, dict[str, Any]], None]


class _ExpiredError(Exception):
    """The resourceVersion is too old: list again."""


def watch_kind(
    kube: Kube,
    api_version: str,
    kind: str,
    *,
    label_selector: str,
    on_list: OnList,
    on_event: OnEvent,
    stop: threading.Event,
    on_broken: Callable[[], None] | None = None,
    timeout: int = 240,
) -> None:
    """Call ``on_list`` with every matching object, then ``on_event`` per change, until ``stop``."""
    while not stop.is_set():
        try:
            resource = kube.resource(api_version, kind)
            with _translated():
                listed = resource.get(label_selector=label_selector).to_dict()
            items = listed.get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            on_list(items)
            version = (listed.get("metadata") or {}).get("resourceVersion")
            while not stop.is_set():
                version = _stream(resource, label_selector, version, timeout, on_event, stop)
        except _ExpiredError:
            pass  # list again at once
        except errors.ApiError as error:
            if error.status != 410:
                log.warning("watch of %s failed: %s; listing again", kind, error.message)
                stop.wait(1.0)
        except Exception:  # a broken connection must not end the watch
            log.exception("watch of %s failed; listing again", kind)
            stop.wait(1.0)
        if on_broken is not None:
            on_broken()


def _stream(
    resource: Any,
    label_selector: str,
    version: str | None,
    timeout: int,
    on_event: OnEvent,
    stop: threading.Event,
) -> str | None:
    watcher = k8s_watch.Watch()
    with _translated():
        for event in resource.watch(
            label_selector=label_selector,
            resource_version=version,
            timeout=timeout,
            watcher=watcher,
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
