"""GitRepository sources: fetch tenants' repositories into verified artifacts.

What belongs here: ref validation (``refs``, ``semver``) and the
GitRepository reconciler (``reconciler``), which decides when a source is due
and runs its steps, each in its own module: the tenant's budgets
(``budget``, with ``tenancy`` saying whose a namespace is), the fetch
(``fetch``: URL, policy, credentials, the commit a ref selects in
``selection``, the artifact) and the status (``status``). The spec is read
through its typed model, :mod:`landlord.api.gitrepository`, where its defaults
live. What must not: running git, or deciding which URLs and addresses a
remote may have (the Git adapter, :mod:`landlord.git`, does both), and
applying anything to the cluster; that is the sync's job.
"""
