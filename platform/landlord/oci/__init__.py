"""OCI registries: references, a distribution API client on pinned connections, artifacts.

What belongs here: parsing and normalising repository references
(``reference``), speaking the distribution API to a tenant-chosen registry
with every URL checked before a connection (``client``), and Flux's artifact
format (``artifact``: ``flux push artifact``'s tarball and manifest). What must
not: Kubernetes objects, reconcilers, policy decisions (the caller passes its
``check``).
"""
