"""GitRepository sources: fetch tenants' repositories into verified artifacts.

What belongs here: URL and ref validation and normalisation (``urls``,
``refs``, ``semver``), which networks a tenant's source may reach
(``network``), credentials from Secrets (``credentials``), the Git adapter
(``git`` — the only module that runs git against a remote), the artifact
store (``artifacts``) and the GitRepository reconciler (``reconciler``). What must not: applying
anything to the cluster; that is the sync's job.
"""
