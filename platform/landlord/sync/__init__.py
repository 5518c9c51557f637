"""The per-tenant sync: build a source revision and apply it **as the tenant**.

What belongs here: the Kustomization pipeline (``reconciler``) and its named
steps (``steps/``: identity, gatekeeper, source, dependencies, build,
validation, apply, prune, health, status), the parts it is assembled from
(``assembly``), the status write (``report``), deletion (``finalize``), the
scheduler of interval ticks (``scheduler``), the watch cache (``watchcache``),
the cross-namespace wake-up index (``depindex``), and the pure pieces they use:
safe YAML (``yamlsafe``), the build (``build``, ``kustomization``,
``substitute``), validation (``validate``), the inventory (``inventory``),
health rules (``health``, ``healthwait``) and drift bookkeeping (``drift``).
What must not: the operator's own identity touching tenant objects (every
tenant-object request goes through an impersonating client).
"""
