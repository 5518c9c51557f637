"""The status page in a real browser: Debian's headless chromium, driven by Selenium.

The page is served by the API this package runs (operator and API in-process,
real control plane, real Git server). Screenshots land in
``.landlord/test-artifacts/ui/`` (``LANDLORD_TEST_ARTIFACTS`` moves them).
Named ``test_ui`` so it runs after the API tests that count an owner's tenants.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from landlord import api
from tests.helpers import eventually
from tests.onboarding.conftest import USERS, Api, owner_of

ARTIFACTS = pathlib.Path(os.environ.get("LANDLORD_TEST_ARTIFACTS", ".landlord/test-artifacts"))


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("the browser tests need Debian's chromium and chromium-driver: `make ui-tools`")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a VM: chromium's own sandbox needs a user namespace setup
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--force-prefers-reduced-motion",
    ):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    session.set_page_load_timeout(30)
    try:
        yield session
    finally:
        session.quit()


def _shot(browser: WebDriver, name: str) -> None:
    folder = ARTIFACTS / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(folder / f"{name}.png"))


def _sign_in(browser: WebDriver, onboarding_api: Api, token: str) -> None:
    browser.delete_all_cookies()
    browser.get(onboarding_api.url + "/ui")
    assert browser.current_url.endswith("/ui/login")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    eventually(lambda: browser.current_url.endswith("/ui") or None, timeout=10, what="the overview")


def _find(browser: WebDriver, css: str) -> Any:
    try:
        return browser.find_element(By.CSS_SELECTOR, css)
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def _text(browser: WebDriver, css: str) -> str | None:
    try:
        return str(browser.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def test_sign_in_and_watch_a_new_tenant_go_ready_without_reloading(
    onboarding_api: Api, browser: WebDriver
) -> None:
    browser.get(onboarding_api.url + "/ui")
    assert browser.current_url.endswith("/ui/login")  # no session: the sign-in form
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "did not accept this token" in alert
    assert "kubectl create token" in alert

    _sign_in(browser, onboarding_api, onboarding_api.owner_token)
    assert "system:serviceaccount:onboarding-users:owner" in _text(browser, ".who")  # type: ignore[operator]
    browser.execute_script("window.__notReloaded = true")
    eventually(lambda: _text(browser, "#live") == "live" or None, timeout=10, what="the stream")

    name = onboarding_api.name("ui")
    status, body, _ = onboarding_api.call(
        "POST",
        "/v1/tenants",
        onboarding_api.admin_token,
        {"name": name, "spec": {"owners": [owner_of(USERS, "owner")]}},
    )
    assert status == 201, body  # a commit to the platform repository; the sync applies it

    def ready_row() -> str | None:
        text = _text(browser, f'tr[data-tenant="{name}"]')
        return text if text and "Ready" in text.split() else None

    row = eventually(ready_row, timeout=60, what=f"{name} shown Ready on the page")
    assert name in row
    assert browser.execute_script("return window.__notReloaded === true")  # a live update
    assert "updated" in (_text(browser, "#live") or "")
    _shot(browser, "overview")

    # The stranger's session sees none of it (and the same 404 for a name that does not exist).
    _sign_in(browser, onboarding_api, onboarding_api.stranger_token)
    assert _find(browser, f'tr[data-tenant="{name}"]') is None
    browser.get(onboarding_api.url + f"/ui/tenants/{name}")
    assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text


def _kustomization(onboarding_api: Api, namespace: str, name: str, **spec: Any) -> None:
    onboarding_api.kube.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": "app"},
                "path": "./",
                "interval": "1m",
                **spec,
            },
        },
        field_manager="tests",
    )


def test_a_denied_dependency_is_drawn_red_with_its_reason_and_the_graph_works_by_keyboard(
    onboarding_api: Api, browser: WebDriver
) -> None:
    mine, theirs = onboarding_api.name("uia"), onboarding_api.name("uib")
    for name, spec in (
        (mine, {"owners": [owner_of(USERS, "owner")]}),
        (theirs, {}),
    ):
        status, body, _ = onboarding_api.call(
            "POST",
            "/v1/tenants",
            onboarding_api.admin_token,
            {"name": name, "spec": spec},
            wait=True,
        )
        assert status == 201, body
        assert body["ready"], body
    _kustomization(onboarding_api, theirs, "db")
    _kustomization(onboarding_api, mine, "web", dependsOn=[{"name": "db", "namespace": theirs}])

    _sign_in(browser, onboarding_api, onboarding_api.owner_token)
    browser.get(onboarding_api.url + "/ui/graph")
    edge_css = f'g.edge-denied[data-source="{mine}/web"][data-target="{theirs}/db"]'
    edge = eventually(lambda: _find(browser, edge_css), timeout=30, what="the denied edge")
    title = edge.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert "DENIED" in title, title
    assert f"depend {theirs}/db" in title, title
    stroke = browser.execute_script(
        "return getComputedStyle(arguments[0].querySelector('path')).stroke", edge
    )
    red, green, blue = (int(part) for part in stroke.removeprefix("rgb(").rstrip(")").split(","))
    assert red > 150, stroke  # drawn red
    assert green < 100, stroke  # drawn red
    assert blue < 100, stroke  # drawn red
    # The other tenant's Kustomization is drawn by name only: no link, no state, no owner.
    hidden = browser.find_element(By.CSS_SELECTOR, f'[data-key="{theirs}/db"]')
    assert hidden.tag_name == "g"
    assert "outside your tenants" in hidden.get_attribute("aria-label")
    _shot(browser, "graph")

    # Keyboard only: Tab to the graph node, Enter opens its tenant's page.
    browser.find_element(By.TAG_NAME, "body").click()
    for _ in range(40):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("data-key") == f"{mine}/web":
            break
    else:
        pytest.fail("Tab never reached the graph node")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    eventually(
        lambda: browser.current_url.endswith(f"/ui/tenants/{mine}") or None,
        timeout=10,
        what="the tenant page",
    )

    # The operator refuses the edge; the tenant's page shows why, live.
    def refused() -> str | None:
        text = _text(browser, f'tr[data-key="{mine}/web"]')
        return text if text and "PolicyDenied" in text else None

    row = eventually(refused, timeout=60, what="the sync's PolicyDenied on the tenant page")
    assert f"dependsOn {theirs}/db is denied" in row
    _shot(browser, "tenant")
    browser.get(onboarding_api.url + "/ui/denials")
    denials = browser.find_element(By.TAG_NAME, "main").text
    assert f"{mine}/web → {theirs}/db" in denials
    assert "PolicyDenied" not in denials.split()[0]
    _shot(browser, "denials")


def test_the_page_refuses_framing_inline_scripts_and_cross_site_sign_in(
    onboarding_api: Api,
) -> None:
    request = urllib.request.Request(
        onboarding_api.url + "/ui/login",
        data=b"token=" + onboarding_api.admin_token.encode(),
        method="POST",
        headers={
            "Origin": "https://evil.example",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert "set-cookie" not in {key.lower() for key in refused.value.headers}
    with urllib.request.urlopen(onboarding_api.url + "/ui/login", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(onboarding_api.url + "/ui/stream", timeout=10)
    assert unsigned.value.code == 401
