"""Credentials for a Git remote, read from a Secret with Flux's keys."""

from __future__ import annotations

import base64
import dataclasses

from landlord.git.urls import InvalidSourceError


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    """``username``+``password``, or ``bearerToken``, or ``identity``+``known_hosts`` (SSH)."""

    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    identity: bytes | None = None
    known_hosts: bytes | None = None

    def __repr__(self) -> str:
        kinds = [
            kind
            for kind, value in (
                ("basic", self.password),
                ("bearer", self.bearer_token),
                ("ssh", self.identity),
            )
            if value
        ]
        return f"Credentials({', '.join(kinds) or 'none'})"

    @classmethod
    def from_secret(cls, data: dict[str, str] | None, secret_name: str) -> Credentials:
        """Decode a Secret's ``data``; a clear error for an incomplete pair."""
        decoded = {key: base64.b64decode(value) for key, value in (data or {}).items()}

        def text(key: str) -> str | None:
            value = decoded.get(key)
            return value.decode().strip() if value else None

        creds = cls(
            username=text("username"),
            password=text("password"),
            bearer_token=text("bearerToken"),
            identity=decoded.get("identity"),
            known_hosts=decoded.get("known_hosts"),
        )
        if bool(creds.username) != bool(creds.password):
            raise InvalidSourceError(
                f"Secret {secret_name} must have both 'username' and 'password' (or neither)"
            )
        if creds.identity and not creds.known_hosts:
            raise InvalidSourceError(
                f"Secret {secret_name} has an SSH 'identity' but no 'known_hosts': "
                "host keys are always verified"
            )
        if not (creds.password or creds.bearer_token or creds.identity):
            raise InvalidSourceError(
                f"Secret {secret_name} has none of username/password, bearerToken or identity"
            )
        return creds

    def secret_values(self) -> list[str]:
        """Every secret string, for redaction."""
        values = [self.password or "", self.bearer_token or ""]
        if self.username and self.password:
            basic = f"{self.username}:{self.password}".encode()
            values.append(base64.b64encode(basic).decode())
        return [value for value in values if value]
