"""GitRepository sources: fetch tenants' repositories into verified artifacts.

What belongs here: URL and ref validation (``urls``, ``refs``, ``semver``),
credentials from Secrets (``credentials``), the GitPython adapter (``git`` —
the only module that imports GitPython), the artifact store (``artifacts``)
and the GitRepository reconciler (``reconciler``). What must not: applying
anything to the cluster; that is the sync's job.
"""
