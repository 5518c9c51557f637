"""The controller runtime: work queue, controllers, watch caches and outcomes.

What every controller of Landlord runs on, independent of what it reconciles:
:mod:`workqueue` (deduplicating, delayed, rate-limited keys), :mod:`controller`
(workers over a queue on the controller's own bounded thread pool, with
fairness groups, resync and the terminal/retryable error model),
:mod:`outcome` (what a reconcile found, and when to look again),
:mod:`namespaces` (the namespace-label watch cache) and :mod:`ratelimit`
(client-side pacing). No Kubernetes client, kopf or Git here.
"""
