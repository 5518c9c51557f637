"""Pure GitOps helpers shared by the reconcilers, free of any third-party client.

What belongs here: artifacts and their store, durations and their bounds,
budgets, the build sandbox, paths. What must not: Kubernetes or Git I/O, or
the controller runtime (that is :mod:`landlord.runtime`).
"""
