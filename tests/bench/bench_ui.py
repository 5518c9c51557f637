"""The status page: page weight, server render time, time to first render, live-update delay.

1,000 made-up tenants (a namespace, a GitRepository and two Kustomizations each,
one in ten depending on another tenant's, half of those denied) are loaded into
the page's watch cache — no control plane: this measures the page, not the
watches — and the real app is served on loopback. Debian's headless chromium
(``make ui-tools``) signs in and loads each view; the Navigation and Paint
Timing APIs give the figures. The live update is one Tenant turning Failing in
the cache, timed until the open page shows it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from landlord import onboarding, telemetry
from landlord.cluster import ports
from landlord.onboarding import statuspage
from landlord.onboarding.identity import Caller
from landlord.onboarding.statuspage import html
from landlord.policy import Gate
from landlord.policy.engine import DEFAULTS, Policy, Snapshot

TENANTS = int(os.environ.get("LANDLORD_BENCH_UI_TENANTS", "1000"))
V = "landlord.dev/v1alpha1"
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": ""}]}


class _Authenticator:
    """Everyone is the bench's admin (TokenReview is not what is measured here)."""

    audiences = ("landlord",)

    def authenticate(self, token: str) -> Caller | None:
        return Caller("bench-admin") if token == "bench" else None


class _Cache(statuspage.StatusCache):
    """Filled by the bench, not by watches."""

    def start(self) -> None:
        pass


def _world() -> dict[str, list[dict[str, Any]]]:
    world: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("Tenant", "Namespace", "GitRepository", "Kustomization")
    }
    for i in range(TENANTS):
        name = f"team-{i:04d}"
        world["Tenant"].append(
            {
                "kind": "Tenant",
                "metadata": {"name": name},
                "spec": {"namespaces": [name]},
                "status": {"namespaces": [name], **READY},
            }
        )
        world["Namespace"].append(
            {
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {"landlord.dev/tenant": name}},
            }
        )
        world["GitRepository"].append(
            {
                "kind": "GitRepository",
                "metadata": {"namespace": name, "name": "app"},
                "spec": {"url": f"https://git.example.com/{name}/app.git"},
                "status": {
                    "artifact": {
                        "revision": "main@sha1:" + "ab" * 20,
                        "lastUpdateTime": "2026-11-30T10:00:00Z",
                    },
                    **READY,
                },
            }
        )
        for ks in ("config", "web"):
            depends: list[dict[str, str]] = [{"name": "config"}] if ks == "web" else []
            if ks == "web" and i % 10 == 0:
                depends.append({"name": "config", "namespace": f"team-{(i + 1) % TENANTS:04d}"})
            world["Kustomization"].append(
                {
                    "kind": "Kustomization",
                    "metadata": {"namespace": name, "name": ks},
                    "spec": {
                        "sourceRef": {"kind": "GitRepository", "name": "app"},
                        "path": f"./{ks}",
                        "dependsOn": depends,
                    },
                    "status": {"lastAppliedRevision": "main@sha1:" + "ab" * 20, **READY},
                }
            )
    return world


def _policy() -> Gate:
    text = (DEFAULTS / "policy.csv").read_text() + "\ng, user:bench-admin, role:platform-admin\n"
    text += "".join(
        f"p, tenant:team-{i:04d}, depend, team-{(i + 1) % TENANTS:04d}/config, allow\n"
        for i in range(0, TENANTS, 20)
    )
    return Gate(Policy(Snapshot((DEFAULTS / "model.conf").read_text(), text, "bench")))


def _timing(driver: Any) -> dict[str, float]:
    return dict(
        driver.execute_script(
            """
            const n = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            const bytes = performance.getEntriesByType('resource')
                .reduce((sum, r) => sum + r.decodedBodySize, n.decodedBodySize);
            return {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd,
                    fcp: fcp ? fcp.startTime : -1, html: n.decodedBodySize, total: bytes,
                    transfer: n.transferSize};
            """
        )
    )


def run() -> None:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        raise SystemExit("the ui bench needs chromium and chromium-driver: `make ui-tools`")
    world = _world()
    cache = _Cache(lambda: None)  # type: ignore[arg-type,return-value]
    for kind, items in world.items():
        cache.replace(kind, items)
    gate = _policy()
    page = statuspage.StatusPage(
        cache,
        statuspage.Sessions(),
        _Authenticator(),  # type: ignore[arg-type]
        gate,
        platform_namespace="landlord-system",
    )
    snapshot = cache.snapshot()
    viewer = page.viewer("bench", snapshot)
    assert viewer is not None
    print(f"{TENANTS} tenants, {sum(len(v) for v in world.values())} objects in the cache")
    print(
        f"{'view':<22}{'server render':>15}{'HTML':>10}{'page total':>12}"
        f"{'TTFB':>8}{'FCP':>8}{'DOM ready':>11}"
    )
    views = ["/ui", "/ui/graph", "/ui/denials", "/ui/tenants/team-0010"]
    renders = {}
    for path in views:
        samples = []
        for _ in range(5):
            began = time.perf_counter()
            html.main_of(path, snapshot, viewer, page.decide)
            samples.append(time.perf_counter() - began)
        renders[path] = statistics.median(samples)

    app = onboarding.create_app(
        None,  # type: ignore[arg-type]
        None,
        _Authenticator(),  # type: ignore[arg-type]
        max_body_bytes=65536,
        metrics=telemetry.Metrics(),
        status_page=page,
    )
    bind = f"127.0.0.1:{ports.free_ports(1)[0]}"
    server = onboarding.Background(app, bind).start()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        base = f"http://{bind}"
        driver.get(base + "/ui/login")
        driver.find_element(By.ID, "token").send_keys("bench")
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        for path in views:
            runs = []
            for _ in range(3):
                driver.get(base + path)
                runs.append(_timing(driver))
            best = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            print(
                f"{path:<22}{renders[path] * 1000:>12.0f} ms{best['html'] / 1024:>7.0f} KiB"
                f"{best['total'] / 1024:>8.0f} KiB{best['ttfb']:>6.0f}ms"
                + (f"{best['fcp']:>6.0f}ms" if best["fcp"] >= 0 else f"{'n/a':>8}")
                + f"{best['dcl']:>9.0f}ms"
            )
        # A live update: one tenant turns Failing; how long until the open page shows it.
        driver.get(base + "/ui")
        time.sleep(1.0)  # the stream connects
        delays = []
        for attempt in range(5):
            name = f"team-{attempt:04d}"
            body = dict(world["Tenant"][attempt])
            body["status"] = {
                "namespaces": [name],
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "Bench",
                        "message": f"failing {attempt}",
                    }
                ],
            }
            began = time.perf_counter()
            cache._event("Tenant", "MODIFIED", body)  # what a watch event does
            css = f'tr[data-tenant="{name}"] .badge-failing'
            while not driver.find_elements(By.CSS_SELECTOR, css):
                if time.perf_counter() - began > 30:
                    raise SystemExit(f"the page never showed {name} Failing")
                time.sleep(0.01)
            delays.append(time.perf_counter() - began)
        print(
            f"live update (cache change → shown on the open overview): "
            f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms"
        )
    finally:
        driver.quit()
        server.stop()
