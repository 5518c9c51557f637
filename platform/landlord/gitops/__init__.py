"""Helpers shared by the reconcilers, free of any third-party client.

What belongs here: the work queue that serialises and rate-limits reconciles
(``workqueue``), durations. What must not: Kubernetes or Git I/O.
"""
