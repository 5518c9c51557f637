"""Helm releases per tenant: chart repositories, verified charts, and ``helm`` run as the tenant.

- :mod:`.index`: a repository's ``index.yaml``, parsed with caps; the chart version a range picks.
- :mod:`.charts`: a chart archive verified before anything reads it (caps, no escapes, no links).
- :mod:`.download`: HTTP(S) fetches pinned to the addresses the network policy checked.
- :mod:`.runner`: ``helm`` in the build sandbox with a short-lived token of the tenant's account.
- :mod:`.repository`, :mod:`.release`: the HelmRepository and HelmRelease reconcilers.
"""
