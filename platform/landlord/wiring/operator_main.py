"""``landlord run``: the operator, and with ``--api`` the onboarding API, in a process or thread."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import threading
import time
from collections.abc import Callable

import kopf

from landlord import kube, onboarding, policy, telemetry
from landlord import settings as settings_mod
from landlord.runtime import stopwatch
from landlord.runtime.leaderelection import LeaderElector
from landlord.tenants.features import Features
from landlord.wiring import api_main, handlers, health, leadership
from landlord.wiring.composition import Operator

log = logging.getLogger(__name__)


def build_registry(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    metrics: telemetry.Metrics,
    gate: policy.Gate | None = None,
    serve_api: bool = False,
    elector: LeaderElector | None = None,
    on_lost: Callable[[], None] | None = None,
) -> kopf.OperatorRegistry:
    """A kopf registry whose handlers feed the controllers of a new :class:`Operator`."""
    operator = build_operator(
        config, kube_client=kube_client, metrics=metrics, gate=gate, serve_api=serve_api
    )
    return handlers.registry_of(operator, elector=elector, on_lost=on_lost)


def build_operator(
    config: settings_mod.Settings,
    *,
    kube_client: kube.Kube,
    metrics: telemetry.Metrics,
    gate: policy.Gate | None = None,
    serve_api: bool = False,
) -> Operator:
    """A new :class:`Operator`; with ``serve_api`` it serves the onboarding API once it runs.

    With ``LANDLORD_FEATURES__API=false`` no API is built: no thread, no port.
    """
    gate = gate or policy.Gate(metrics=metrics)
    operator = Operator(config, kube_client=kube_client, metrics=metrics, gate=gate)
    if serve_api and operator.features.api:
        app = api_main.build_app(
            config,
            kube_client=kube_client,
            gate=gate.unrecorded(),  # its callers' requests are not the platform's: not recorded
            metrics=metrics,
            receivers=operator.features.receivers,
        )
        server = onboarding.Background(app, config.api.bind)

        def started() -> None:
            server.start()
            log.info("onboarding API listening", extra={"bind": config.api.bind})

        operator.on_started = started
        operator.on_stopping = server.stop
    elif serve_api:
        log.info("onboarding API off (LANDLORD_FEATURES__API=false)")
    return operator


def run(config: settings_mod.Settings, *, serve_api: bool = False) -> None:
    """Run the operator (and with ``serve_api`` the onboarding API) until interrupted."""
    Features.from_flags(config.features)  # an unknown flag stops start-up before anything runs
    telemetry.configure_logging(config.telemetry)
    # kopf logs every handler call at INFO; our own logs say what matters.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    telemetry.configure_tracing(config.telemetry)
    metrics = telemetry.Metrics()
    kube.count_requests(lambda method: metrics.apiserver_requests_total.labels(method).inc())
    kube_client = kube.connect()
    operator = build_operator(config, kube_client=kube_client, metrics=metrics, serve_api=serve_api)
    elector = leadership.elector_from(config, kube_client)
    registry = handlers.registry_of(
        operator, elector=elector, on_lost=leadership.exit_on_lost_lease
    )
    if config.telemetry.metrics_bind:  # after the settings were found sound
        metrics.serve(config.telemetry.metrics_bind)
    if config.telemetry.health_bind:
        readiness = leadership.readiness(operator.readiness, elector, config.leader_election.lease)
        if kube_client.credentials is not None:
            readiness = health.credentials_checked(
                readiness,
                lambda: kube_client.credentials_refused_for,
                kube_client.credentials.source,
            )
        health.HealthServer(config.telemetry.health_bind, readiness).start()
    threading.Thread(target=_watch_the_clock, name="clock", daemon=True).start()
    kopf.run(registry=registry, clusterwide=True, standalone=True)


# Seconds between two looks at the wall clock for a step.
CLOCK_CHECK = 5.0


def _watch_the_clock() -> None:
    """Say when the wall clock was stepped, and that no wait changes length for it."""
    steps = stopwatch.ClockSteps()
    while True:
        time.sleep(CLOCK_CHECK)
        step = steps.check()
        if step:
            log.warning(
                "the wall clock stepped by %+.0fs: health checks, deletion timeouts and "
                "offboarding deadlines count on the monotonic clock and keep their length; "
                "leases are judged by their renewals, not by their timestamps",
                step,
                extra={"clock_step_seconds": round(step, 1)},
            )


class Embedded:
    """The operator (and API) on a thread of this process: Landlord as a library.

    For programs and tests that need Landlord's spans and metrics in their own
    process (an in-memory span exporter sees the whole chain). The kubeconfig's
    connection is used for the watches too (kopf logs in through the client).
    An unknown feature flag raises here, before anything starts.
    """

    def __init__(
        self,
        config: settings_mod.Settings,
        *,
        kubeconfig: pathlib.Path,
        serve_api: bool = True,
        metrics: telemetry.Metrics | None = None,
    ) -> None:
        self.metrics = metrics or telemetry.Metrics()
        self.kube = kube.connect(kubeconfig)
        self.gate = policy.Gate(metrics=self.metrics)
        self.registry = build_registry(
            config, kube_client=self.kube, metrics=self.metrics, gate=self.gate, serve_api=serve_api
        )
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="landlord-operator", daemon=True)

    def _run(self) -> None:
        asyncio.run(
            kopf.operator(
                registry=self.registry,
                clusterwide=True,
                standalone=True,
                stop_flag=self._stop,
                ready_flag=self._ready,
            )
        )

    def start(self, timeout: float = 60.0) -> Embedded:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the embedded operator did not become ready")
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
