"""The Git adapter: everything that talks to a Git remote, and nothing else does.

What belongs here: one spelling per remote URL and redaction (``urls``), which
addresses a remote may be reached at (``network``), credentials from Secrets
(``credentials``), running git with an environment built from nothing
(``command``), fetching a commit and its tree (``fetch``) and the working
clone the onboarding API commits and pushes through (``workspace``). What must
not: deciding what to fetch or what to commit, and any Kubernetes or policy
call; the sources reconciler and the onboarding API do that. GitPython is
never used: its ``execute()`` copies the operator's environment into git.
"""

from landlord.git.command import GitError
from landlord.git.credentials import Credentials
from landlord.git.fetch import GitRemote, RemoteRefs
from landlord.git.workspace import Checkout, Commit, PushRejectedError

__all__ = [
    "Checkout",
    "Commit",
    "Credentials",
    "GitError",
    "GitRemote",
    "PushRejectedError",
    "RemoteRefs",
]
