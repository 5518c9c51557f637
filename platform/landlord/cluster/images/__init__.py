"""Container images built on this machine, without a registry or Docker.

``buildah`` drives buildah with storage of its own under the cache (vfs, no
daemon, nothing under ``/var/lib/containers``); ``pause`` builds the real
node's sandbox image from Debian's static ``catatonit``; ``landlord`` builds
Landlord's own image from Debian packages and the project's wheel. Each writes
an OCI archive under the cache, keyed by a digest of its inputs, so a second
build with the same inputs is a cache hit.
"""
