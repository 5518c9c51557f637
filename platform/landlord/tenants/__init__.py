"""The tenant operator's domain: what a Tenant should have, and making it so.

What belongs here: the pure desired-state computation (``desired``), the rules
a Tenant must satisfy before anything is written (``validation``), the feature
switches (``features``), and the reconciler (``reconciler``) with its two
steps, ``provisioning`` and ``offboarding``, which share what the cluster holds
of a tenant (``live``) and render its status (``status``). They talk to the
cluster only through ``landlord.kube``. What must not: kopf (see
``landlord.wiring``), or applying a tenant's own manifests (that is the sync,
done as the tenant).
"""
