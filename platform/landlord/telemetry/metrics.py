"""A Prometheus registry per process, and the metrics Landlord records in it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import start_http_server as _start_http_server


class Metrics:
    """Landlord's metrics, all in one registry that the caller owns.

    A registry per instance (not the global default) keeps tests independent
    and lets one process serve exactly the metrics it records.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.controlplane_start_seconds = Histogram(
            "landlord_controlplane_start_seconds",
            "Time for the local control plane to become ready, by component.",
            ["component"],
            registry=self.registry,
            buckets=(0.5, 1, 2, 5, 10, 15, 30, 60, 120),
        )

        self.apiserver_requests_total = Counter(
            "landlord_apiserver_requests_total",
            "Requests this process made to the apiserver, by HTTP method (a watch counts once).",
            ["method"],
            registry=self.registry,
        )
        self.tenants = Gauge(
            "landlord_tenants",
            "Tenants known to this operator, by Ready condition.",
            ["ready"],
            registry=self.registry,
        )
        self.tenant_reconcile_seconds = Histogram(
            "landlord_tenant_reconcile_seconds",
            "Time to reconcile one Tenant (provision, prune or offboard), by result.",
            ["result"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.tenant_drift_repairs_total = Counter(
            "landlord_tenant_drift_repairs_total",
            "Tenant objects restored after someone deleted or changed them, by kind.",
            ["kind"],
            registry=self.registry,
        )

        self.source_git_seconds = Histogram(
            "landlord_source_git_seconds",
            "Duration of Git operations per source (ls-remote, fetch incl. archive).",
            ["namespace", "name", "operation"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        self.source_fetched_bytes_total = Counter(
            "landlord_source_fetched_bytes_total",
            "Bytes of Git objects fetched per source.",
            ["namespace", "name"],
            registry=self.registry,
        )
        self.source_failures_total = Counter(
            "landlord_source_failures_total",
            "Failed source reconciles, by reason.",
            ["namespace", "name", "reason"],
            registry=self.registry,
        )

        self.sync_drift_repairs_total = Counter(
            "landlord_sync_drift_repairs_total",
            "Objects a Kustomization restored after they drifted, by kind and by the field "
            "manager that changed them ('deleted' for a deletion).",
            ["kind", "manager"],
            registry=self.registry,
        )
        self.sync_reconcile_seconds = Histogram(
            "landlord_sync_reconcile_seconds",
            "Time to reconcile one Kustomization (admission to status), by result (ready, "
            "progressing: waiting for health, failed, stalled).",
            ["result"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        self.policy_decisions_total = Counter(
            "landlord_policy_decisions_total",
            "Policy decisions, by enforcement point and effect (allow, deny).",
            ["point", "decision"],
            registry=self.registry,
        )
        self.policy_reloads_total = Counter(
            "landlord_policy_reloads_total",
            "Policy loads, by result (loaded, invalid).",
            ["result"],
            registry=self.registry,
        )
        self.policy_rules = Gauge(
            "landlord_policy_rules",
            "Lines (p and g) of the policy in force; 0 while none is.",
            registry=self.registry,
        )
        self.policy_info = Gauge(
            "landlord_policy_info",
            "The policy in force (value 1): its digest and where it was read from.",
            ["digest", "origin"],
            registry=self.registry,
        )
        self.policy_valid = Gauge(
            "landlord_policy_valid",
            "1 when the newest policy read is the one in force, 0 when it was invalid.",
            registry=self.registry,
        )

        self.api_requests_total = Counter(
            "landlord_api_requests_total",
            "Onboarding API requests, by route template, method and HTTP status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.api_request_seconds = Histogram(
            "landlord_api_request_seconds",
            "Onboarding API request duration, by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        self.api_commits_total = Counter(
            "landlord_api_commits_total",
            "Commits the onboarding API pushed to the platform repository, by operation and "
            "result (pushed, retried, failed, replayed: a retried Idempotency-Key).",
            ["operation", "result"],
            registry=self.registry,
        )
        self.api_commit_batch_size = Histogram(
            "landlord_api_commit_batch_size",
            "Onboarding API writes committed and pushed together (one push per batch).",
            buckets=(1, 2, 5, 10, 20, 50, 100),
            registry=self.registry,
        )
        self.onboarding_lead_time_seconds = Histogram(
            "landlord_onboarding_lead_time_seconds",
            "From an onboarding API request to its Tenant being Ready, by operation.",
            ["operation"],
            registry=self.registry,
            buckets=(1, 2, 5, 10, 15, 30, 60, 120, 300, 600),
        )
        self.receiver_events_total = Counter(
            "landlord_receiver_events_total",
            "Webhook deliveries to receivers, by receiver and result.",
            ["receiver", "result"],
            registry=self.registry,
        )
        self.notifications_total = Counter(
            "landlord_notifications_total",
            "Alerts' events: delivered, retried, failed, or not sent (duplicate, "
            "rate_limited, dropped, no_provider, suspended).",
            ["result"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

    def serve(self, bind: str) -> None:
        """Serve ``/metrics`` on ``host:port`` from a background thread."""
        host, _, port = bind.rpartition(":")
        _start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)
