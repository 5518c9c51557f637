"""The demo (``landlord up``) and the loopback Git server it and the tests use.

Nothing the operator runs lives here, and no operator package imports it (an
import-linter contract): the demo is a user of Landlord, like the tests.

What belongs here: serving bare repositories over Git's smart HTTP protocol
with ``git http-backend`` on 127.0.0.1 (``gitserver``), Helm chart
repositories over HTTP (``chartserver``), an OCI registry (the distribution
binary, with TLS and htpasswd or token auth: ``registry``), and the demo's steps —
push a platform repository, install, start the operator, bootstrap, onboard a
tenant through the API (``up``). What must not: argument parsing or tables
(``landlord.cli``).
"""

from __future__ import annotations

from landlord.demo.chartserver import ChartServer
from landlord.demo.gitserver import GitServer
from landlord.demo.registry import Registry

__all__ = ["ChartServer", "GitServer", "Registry"]
