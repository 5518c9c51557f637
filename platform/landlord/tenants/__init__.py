"""The tenant operator's domain: what a Tenant should have, and making it so.

What belongs here: the pure desired-state computation (``desired``), the rules
a Tenant must satisfy before anything is written (``validation``), the feature
switches (``features``) and the reconcile/offboard pipeline (``reconciler``),
which talks to the cluster only through ``landlord.kube``. What must not:
kopf (see ``landlord.wiring``), or applying a tenant's own manifests (that is
the sync, done as the tenant).
"""
