"""``landlord api`` and ``landlord run --api``: the onboarding API, wired to Git and the cluster."""

from __future__ import annotations

import hashlib
import logging

from landlord import errors, git, kube, onboarding, policy, telemetry
from landlord import settings as settings_mod
from landlord.git.credentials import Credentials
from landlord.gitops import artifacts, durations
from landlord.onboarding import statuspage
from landlord.policy import reloader as policy_reloader
from landlord.tenants.features import Features
from landlord.wiring import api_workdir, policy_sources

log = logging.getLogger(__name__)


def workspace_factory(config: settings_mod.Settings) -> onboarding.WorkspaceFactory:
    """Working clones of the platform repository, in Landlord's part of the API's workdir."""

    def open_workspace(location: onboarding.Location) -> onboarding.Workspace:
        credentials = (
            Credentials.from_secret(location.secret_data, location.secret_name)
            if location.secret_name
            else None
        )
        place = hashlib.sha256(f"{location.url}#{location.branch}".encode()).hexdigest()[:16]
        return git.Checkout(
            location.url,
            credentials,
            workdir=api_workdir.clones(config.api.workdir) / place,
            branch=location.branch,
            timeout=config.api.git_timeout,
        )

    return open_workspace


def build_app(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    gate: policy.Gate,
    metrics: telemetry.Metrics,
    receivers: bool = True,
) -> onboarding.App:
    """The onboarding API as an ASGI app; without ``receivers``, no webhook routes (404)."""
    signer = onboarding.trace_signer(
        kube_client,
        platform_namespace=config.platform_namespace,
        secret_name=config.api.trace_key_secret,
    )
    service = onboarding.Onboarding(
        kube_client,
        gate,
        workspace_factory(config),
        platform_namespace=config.platform_namespace,
        settings=config.api,
        allowed_schemes=config.sources.allowed_schemes,
        bounds=durations.bounds_of(config.limits),
        metrics=metrics,
        trace_signer=signer,
    )
    # LANDLORD_FEATURES__RECEIVERS=false: no webhook route (nor its OpenAPI
    # entry); a delivery gets the API's own 404.
    webhooks = (
        onboarding.Receivers(
            kube_client,
            platform_namespace=config.platform_namespace,
            replay_window=config.api.receiver_replay_window,
            metrics=metrics,
        )
        if receivers
        else None
    )
    authenticator = onboarding.Authenticator(
        kube_client, audiences=config.api.audiences, cache_seconds=config.api.token_cache_seconds
    )
    # LANDLORD_API__UI=false: no status page (/ui gets the API's own 404).
    page = (
        statuspage.StatusPage(
            statuspage.StatusCache(lambda: kube_client),
            statuspage.Sessions(lifetime=config.api.ui_session_seconds),
            authenticator,
            gate,
            platform_namespace=config.platform_namespace,
            secure_cookie=config.api.url.startswith("https://"),
        )
        if config.api.ui
        else None
    )
    return onboarding.create_app(
        service,
        webhooks,
        authenticator,
        max_body_bytes=config.api.max_body_bytes,
        metrics=metrics,
        status_page=page,
    )


def run(config: settings_mod.Settings) -> None:
    """``landlord api``: the API alone, with its own policy reloader, until interrupted."""
    features = Features.from_flags(config.features)  # unknown flags stop here
    if not features.api:
        raise errors.TerminalError(
            "the onboarding API is switched off (LANDLORD_FEATURES__API=false)",
            hint="unset LANDLORD_FEATURES__API, or do not run `landlord api`",
        )
    telemetry.configure_logging(config.telemetry)
    telemetry.configure_tracing(config.telemetry)
    metrics = telemetry.Metrics()
    if config.telemetry.metrics_bind:
        metrics.serve(config.telemetry.metrics_bind)
    kube_client = kube.connect()
    gate = policy.Gate(metrics=metrics)
    store = artifacts.ArtifactStore(config.sources.storage_dir / "artifacts")
    reloader = policy_reloader.Reloader(
        gate,
        policy_sources.reader(config, kube_client=kube_client, store=store),
        interval=config.policy.reload_interval,
        metrics=metrics,
    )
    reloader.check()
    reloader.start()
    app = build_app(
        config,
        kube_client=kube_client,
        gate=gate,
        metrics=metrics,
        receivers=features.receivers,
    )
    log.info("onboarding API listening", extra={"bind": config.api.bind})
    try:
        onboarding.serve(app, config.api.bind)
    finally:
        reloader.stop()
