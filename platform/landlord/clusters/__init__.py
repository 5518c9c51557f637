"""The cluster registry: Cluster objects, their probe and deletion, and registering one.

A Cluster (in the platform namespace) names a kubeconfig Secret beside it; the
connection is :mod:`landlord.kube.fleet`'s. This package keeps each Cluster's
status (reachable, version, identity, last contact) and holds its deletion
while Tenants or inventories still have objects there.
"""
