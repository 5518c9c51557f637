"""The named steps of the sync pipeline, one job each, in the order the reconciler calls them.

``identity`` (the impersonating client) → ``gatekeeper`` (names, edges, kinds,
budgets: refusals decided before anything they name is read) → ``source``
(the artifact) → ``dependencies`` → ``build`` (+ postBuild substitution) →
``validation`` → ``apply`` (dry-run, then staged server-side apply) →
``prune`` → ``health`` → ``status`` (pure rendering of conditions and Events).
Each failing step raises :class:`landlord.sync.failure.SyncError` with its Ready reason.
"""
