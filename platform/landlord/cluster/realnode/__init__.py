"""Real nodes: a kubelet, kube-proxy and containerd that run pods for real.

Each node lives in namespaces of its own, anchored on its containerd process:
a network namespace (its ``eth0`` is a veth on one host bridge per cluster,
so several nodes on one host do not share ports, iptables rules or the pod
bridge) and a private mount namespace (``/run``, ``/var/lib`` and ``/var/log``
are the node's own folders, so the kubelet's fixed paths never touch the host).
When the node's processes end, both namespaces and everything in them go with
them; what remains on the host (the bridge, the cgroups, the global sysctls
the kubelet sets) is recorded before it is made and undone by ``cluster down``.

``plan`` (addresses), ``configs`` (every file and command line, pure),
``host`` (what the machine must have, and the host state we change),
``node`` (bring one node up and down).
"""
