"""A client for the onboarding API, for the command line and the demo.

What belongs here: calling the API over HTTP with a bearer token, turning its
refusals into :class:`ApiCallError` with the field problems and a hint, and
finding a token (flag, ``LANDLORD_TOKEN`` or the kubeconfig's). What must not:
argument parsing or output (``landlord.cli``), or anything the server decides.
"""

from __future__ import annotations

from landlord.client.onboarding import ApiCallError, Client, connect

__all__ = ["ApiCallError", "Client", "connect"]
