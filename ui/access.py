"""Who may reach the web chat. Input: Settings + CLI args. Output: ServeOptions (or ConfigError).

Rules: loopback hosts may run without a login; any other host needs ASSISTANT_AUTH. Uploads are
on by default only on loopback hosts, otherwise only with --allow-upload (or
ASSISTANT_ALLOW_UPLOAD=true).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.errors import ConfigError

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
MIN_PASSWORD_CHARS = 8


@dataclass(frozen=True)
class ServeOptions:
    """Resolved options for one `assistant serve` run."""

    host: str
    port: int
    auth: list[tuple[str, str]] | None
    allow_upload: bool

    def __repr__(self) -> str:
        """Never show passwords."""
        users = [u for u, _ in self.auth or []]
        return (
            f"ServeOptions(host={self.host!r}, port={self.port}, auth_users={users}, "
            f"allow_upload={self.allow_upload})"
        )


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (a server only this machine can reach)."""
    if host.strip().lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str) -> list[tuple[str, str]]:
    """Credentials from "user:password" or from a file of such lines (# comments allowed).

    Args:
        value: the ASSISTANT_AUTH value.

    Returns:
        (user, password) pairs.

    Raises:
        ConfigError: empty user or password, or an unreadable file.
    """
    value = value.strip()
    path = Path(value).expanduser()
    if ":" not in value or path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(
                f"ASSISTANT_AUTH is neither user:password nor a readable file ({value!r}: "
                f"{e.strerror}); give user:password or a file with one user:password per line."
            ) from e
        where = f"line {{n}} of {path}"
    else:
        lines, where = [value], "ASSISTANT_AUTH"
    pairs: list[tuple[str, str]] = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(
                f"{where.format(n=n)}: expected user:password with a non-empty user and password."
            )
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(
                f"{where.format(n=n)}: the password of {user.strip()!r} is {len(password)} "
                f"characters long; use at least {MIN_PASSWORD_CHARS}."
            )
        pairs.append((user.strip(), password))
    if not pairs:
        raise ConfigError(f"ASSISTANT_AUTH file {path} lists no user:password line.")
    return pairs


def resolve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    allow_upload: bool | None = None,
) -> ServeOptions:
    """Combine settings and CLI flags; refuse an open, login-free server on a network.

    Args:
        settings: ASSISTANT_HOST / PORT / AUTH / ALLOW_UPLOAD.
        host: --host (wins over the setting).
        port: --port (wins over the setting).
        allow_upload: --allow-upload (True) or None.

    Returns:
        The resolved options.

    Raises:
        ConfigError: a non-loopback host without ASSISTANT_AUTH, bad credentials, bad port.
    """
    host = host or settings.host
    port = port if port is not None else settings.port
    if not 0 < port < 65536:
        raise ConfigError(f"Port must be 1-65535, got {port}.")
    auth = parse_auth(settings.auth.get_secret_value()) if settings.auth else None
    loopback = is_loopback(host)
    if not loopback and not auth:
        raise ConfigError(
            f"Refusing to serve on {host} without a login: anyone on the network could use it. "
            "Set ASSISTANT_AUTH=user:password (or a path to a file of user:password lines), "
            "or serve on 127.0.0.1."
        )
    upload = allow_upload if allow_upload is not None else settings.allow_upload
    if upload is None:
        upload = loopback
    return ServeOptions(host=host, port=port, auth=auth, allow_upload=bool(upload))
