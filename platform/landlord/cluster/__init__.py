"""The local control plane: real etcd, kube-apiserver, controller-manager, scheduler, kwok.

What belongs here: finding or building the binaries (``binaries``, ``gobuild``),
the PKI (``pki``), ports (``ports``), process supervision (``processes``), the
flags each component runs with (``components``), kwok's fake nodes (``nodes``)
and the ``up``/``down``/``status`` orchestration (``controlplane``).

What must not: anything about tenants or GitOps. Only ``nodes`` talks to the
apiserver, through ``landlord.kube``.
"""
