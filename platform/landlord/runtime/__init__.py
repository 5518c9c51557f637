"""The controller runtime: work queue, controllers, watch caches and outcomes.

What every controller of Landlord runs on, independent of what it reconciles:
:mod:`workqueue` (deduplicating, delayed, rate-limited keys), :mod:`controller`
(bounded workers over a queue, with fairness groups and resync),
:mod:`outcome` (what a reconcile found, and when to look again),
:mod:`namespaces` (the namespace-label watch cache) and :mod:`ratelimit`
(client-side pacing). No Kubernetes client, kopf or Git here.
"""
