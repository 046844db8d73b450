"""Request checks in front of the web chat. Input: every HTTP request. Output: the app's
response with security headers, or a refusal.

- **Allowed hosts** (DNS rebinding): the Host header must name this server: loopback names by
  default, plus ASSISTANT_ALLOWED_HOSTS (comma-separated, for a server behind a name). Any
  other Host gets 421 Misdirected Request, so a page on evil.example that resolves to
  127.0.0.1 cannot read documents or upload files.
- **Origin** on state-changing requests (POST, PUT, PATCH, DELETE): a browser's Origin (or
  Sec-Fetch-Site: cross-site) from another site gets 403 before the handler runs; strict
  CORS alone only hides the response of a cross-origin multipart upload, it still executes.
- **Login attempts**: failures from one client are answered one at a time, each after a
  delay that grows with the failures (LOGIN_DELAY_STEP x n seconds, at most
  LOGIN_DELAY_MAX): 100 wrong passwords take over a minute instead of ~0.14 s.
- **Headers**: a Content-Security-Policy (same-origin resources only, no framing) and
  X-Frame-Options, X-Content-Type-Options, Referrer-Policy on every response.

Pure ASGI (no Starlette base classes), passed to Gradio as FastAPI middleware.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATHS = frozenset({"/login", "/login/"})
LOGIN_DELAY_STEP = 0.0125  # seconds per earlier failure: sum over 100 failures = 63 s
LOGIN_DELAY_MAX = 2.0
LOGIN_FORGET_AFTER = 900.0  # seconds without a failure after which a client starts afresh
# Gradio's page needs inline scripts/styles and eval (its bundle and the Vega plot); nothing
# may come from another origin, and no other site may frame the page
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def allowed_hosts(server_host: str, extra: str | None) -> frozenset[str]:
    """Host names this server answers to: loopback, the host it binds, ASSISTANT_ALLOWED_HOSTS.

    Args:
        server_host: the --host value (0.0.0.0 / :: add nothing: they are not names).
        extra: ASSISTANT_ALLOWED_HOSTS, comma-separated names ("*" allows any).

    Returns:
        Lower-case host names without ports or brackets.
    """
    names = set(LOOPBACK_HOSTS)
    host = server_host.strip().strip("[]").lower()
    if host and host not in {"0.0.0.0", "::"}:
        names.add(host)
    names |= {n.strip().strip("[]").lower() for n in (extra or "").split(",") if n.strip()}
    return frozenset(names)


def host_name(value: str) -> str:
    """The name part of a Host header or URL netloc: 'a.b:7860' -> 'a.b', '[::1]:80' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def login_delay(failures: int) -> float:
    """Seconds to hold the answer to a client's n-th consecutive failed login."""
    return min(LOGIN_DELAY_STEP * max(0, failures - 1), LOGIN_DELAY_MAX)


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        """Wrap ``app``; ``hosts`` from allowed_hosts()."""
        self.app = app
        self.hosts = frozenset(hosts)
        self._failures: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _host_ok(self, name: str) -> bool:
        return "*" in self.hosts or name in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check, then pass on (adding the security headers)."""
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if not self._host_ok(host):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _reply(
                send,
                421,
                f"Misdirected request: this server does not answer to the host name {host!r}. "
                "An administrator can allow it with ASSISTANT_ALLOWED_HOSTS.",
            )
            return
        method = str(scope.get("method", "GET")).upper()
        if scope["type"] == "http" and method not in SAFE_METHODS:
            refusal = self._cross_origin(headers)
            if refusal:
                await _reply(send, 403, refusal)
                return
            if scope.get("path") in LOGIN_PATHS:
                await self._login(scope, receive, send)
                return
        await self.app(scope, receive, _with_headers(send))

    def _cross_origin(self, headers: dict[str, str]) -> str:
        origin = headers.get("origin")
        if origin is not None:
            name = host_name(urlsplit(origin).netloc) if origin != "null" else ""
            if not name or not self._host_ok(name):
                return f"Cross-origin request refused (Origin {origin!r} is not this server)."
        elif headers.get("sec-fetch-site") == "cross-site":
            return "Cross-origin request refused (sent by a page on another site)."
        return ""

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One login attempt per client at a time; failures answered after a growing delay."""
        client = str((scope.get("client") or ("?", 0))[0])
        lock = self._locks.setdefault(client, asyncio.Lock())
        async with lock:
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, _with_headers(hold))
            status = next((m["status"] for m in held if m["type"] == "http.response.start"), 0)
            now = time.monotonic()
            count, last = self._failures.get(client, (0, now))
            if status == 200:
                self._failures.pop(client, None)
            elif status in {400, 401}:
                count = 1 if now - last > LOGIN_FORGET_AFTER else count + 1
                self._failures[client] = (count, now)
                await asyncio.sleep(login_delay(count))
            for message in held:
                await send(message)


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


async def _reply(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
