"""The HTTP JSON API beside the web chat. Input: an Assistant + ServeOptions. Output: /api routes.

`POST /api/ask`, `POST /api/retrieve`, `GET /api/documents`, OpenAPI docs at `/api/docs`. It
is a FastAPI app mounted on Gradio's own server (the same port and process as the page), but
not behind the Gradio queue: requests run on a small thread pool of their own (API_WORKERS),
at most API_WAITING more wait for it, and anything beyond that is answered at once with 503 and
`Retry-After`; a request that has not finished within its timeout also gets 503, so a caller
never hangs. Input is checked by the library (question length, k, filters) and every error is
JSON: `{"error": {"type": ..., "message": ...}}` with the package's own message.

Login: the page's (ASSISTANT_AUTH, HTTP basic) or a token from ASSISTANT_API_TOKENS
(`Authorization: Bearer <token>`); with neither set (loopback only) the API is open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from starlette.routing import Mount

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigError, InvalidInputError, StoreBusyError

from .access import ServeOptions
from .api_schema import (
    AskRequest,
    AskResponse,
    DocumentOut,
    ErrorResponse,
    RetrieveRequest,
    RetrieveResponse,
    document_out,
    passage_out,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Pool size and waiting room: Settings.api_workers / api_queue. An answer costs ~30 ms of CPU
# and holds the GIL most of that time: two threads keep both cores busy without contending;
# 48 more may wait (~1-2 s of work), the rest are told to retry.
API_TIMEOUT = 30.0  # seconds for one request, waiting included (an LLM adds its own timeout)
RETRY_AFTER = "1"  # seconds: the backlog drains in about one
MAX_BODY_BYTES = 256 * 1024  # a 4,000-character question plus a long history fits many times
REALM = 'Basic realm="policy-assistant", charset="UTF-8"'


class Busy(Exception):
    """The API's pool and waiting room are full, or a request ran out of time."""


class Gate:
    """Runs blocking calls on a pool of its own; refuses at once beyond its capacity."""

    def __init__(self, workers: int, waiting: int, timeout: float) -> None:
        """A pool of `workers` threads, `waiting` more admitted, `timeout` s per request."""
        if workers <= 0 or waiting < 0 or timeout <= 0:
            raise ConfigError(
                "ASSISTANT_API_WORKERS must be at least 1 and ASSISTANT_API_QUEUE at least 0; "
                f"got {workers} and {waiting}."
            )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api")
        self._capacity = workers + waiting
        self._admitted = 0
        self._lock = threading.Lock()
        self.timeout = timeout

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(*args, **kwargs) on the pool.

        Raises:
            Busy: the pool and its waiting room are full, or the call took longer than timeout.
        """
        with self._lock:
            if self._admitted >= self._capacity:
                raise Busy("busy")
            self._admitted += 1
        # the slot is released when the call really ends (a timed-out call still holds its
        # thread), so the admitted count never under-states the work in the pool
        future = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise Busy("timeout") from None


def parse_tokens(value: str) -> list[str]:
    """API tokens from ASSISTANT_API_TOKENS: comma- or space-separated, 16+ characters each.

    Raises:
        ConfigError: no token, or a token too short to be a secret.
    """
    tokens = [t for t in value.replace(",", " ").split() if t]
    short = [t for t in tokens if len(t) < 16]
    if not tokens or short:
        raise ConfigError(
            "ASSISTANT_API_TOKENS must list tokens of at least 16 characters, separated by "
            "commas (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)."
        )
    return tokens


def _error(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )


def _busy(reason: str) -> Response:
    if reason == "timeout":
        message = "The server took too long to answer; try again in a moment."
    else:
        message = "The server is answering as many questions as it can; try again in a moment."
    return _error(503, "Busy", message, {"Retry-After": RETRY_AFTER})


class _Login(BaseHTTPMiddleware):
    """HTTP basic (ASSISTANT_AUTH users) or a bearer token (ASSISTANT_API_TOKENS)."""

    def __init__(
        self, app: Any, users: list[tuple[str, str]] | None, tokens: list[str] | None
    ) -> None:
        super().__init__(app)
        self.users = users or []
        self.tokens = tokens or []

    def _allowed(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return any(hmac.compare_digest(value.encode(), t.encode()) for t in self.tokens)
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # compare against every pair so the time taken does not tell which part was wrong
        ok = False
        for u, p in self.users:
            ok |= hmac.compare_digest(f"{user}:{password}".encode(), f"{u}:{p}".encode())
        return bool(sep) and ok

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Refuse requests without a valid login (401) and oversized bodies (413)."""
        if (self.users or self.tokens) and not self._allowed(
            request.headers.get("authorization", "")
        ):
            how = []
            if self.users:
                how.append("HTTP basic with a user of ASSISTANT_AUTH (curl -u user:password)")
            if self.tokens:
                how.append("a token of ASSISTANT_API_TOKENS (Authorization: Bearer <token>)")
            return _error(
                401,
                "Unauthorized",
                "Log in to use the API: " + " or ".join(how) + ".",
                {"WWW-Authenticate": REALM},
            )
        if request.method == "POST":
            # every body is JSON: read it as such whatever its Content-Type, so that
            # `curl -d '{"question": ...}'` (sent as a form) works as the README shows
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
            request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(
                413,
                "InvalidInputError",
                f"The request body is {int(length):,} bytes; the limit is {MAX_BODY_BYTES:,}.",
            )
        return await call_next(request)


def _status(e: AssistantError) -> int:
    if isinstance(e, StoreBusyError):
        return 503
    if isinstance(e, ValueError):  # InvalidInputError, ConfigError: the caller's input
        return 400
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON ({detail})" if detail else "not JSON")
            continue
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts) + " (see /api/docs)."


def build_api(assistant: Any, options: ServeOptions, settings: Settings) -> FastAPI:
    """The API app (to be mounted at /api).

    Args:
        assistant: an assistant.pipeline.Assistant.
        options: the resolved serve options (their login is the API's login too).
        settings: ASSISTANT_API_TOKENS / API_WORKERS / API_QUEUE, the LLM timeout.

    Returns:
        A FastAPI app with its OpenAPI docs at /docs (i.e. /api/docs once mounted).

    Raises:
        ConfigError: malformed ASSISTANT_API_TOKENS.
    """
    tokens = parse_tokens(settings.api_tokens.get_secret_value()) if settings.api_tokens else None
    timeout = API_TIMEOUT + (settings.llm_timeout if settings.llm else 0.0)
    gate = Gate(settings.api_workers, settings.api_queue, timeout)
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse, "description": what}
        for code, what in (
            (400, "bad input (the message says what to change)"),
            (401, "no or wrong login"),
            (422, "the body does not match the schema"),
            (503, "busy: retry after Retry-After seconds"),
        )
    }
    # Swagger UI from the files fastapi-offline ships (FastAPI's own page loads it from a CDN)
    app = FastAPIOffline(
        title="Policy guidance assistant API",
        summary="Cited answers and passages from the indexed policy documents.",
        version="1",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        static_url="/docs-static",
        responses=errors,
    )
    app.add_middleware(_Login, users=options.auth, tokens=tokens)
    _add_error_handlers(app)
    _add_routes(app, assistant, gate)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as `{"error": {"type", "message"}}` with the right status."""

    @app.exception_handler(AssistantError)
    async def _assistant_error(_: Request, exc: AssistantError) -> Response:
        headers = {"Retry-After": "10"} if isinstance(exc, StoreBusyError) else None
        return _error(_status(exc), type(exc).__name__, str(exc), headers)

    @app.exception_handler(Busy)
    async def _busy_error(_: Request, exc: Busy) -> Response:
        return _busy(str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return _error(422, InvalidInputError.__name__, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, "HTTPError", str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        logger.exception("API request failed", exc_info=exc)
        return _error(500, "InternalError", "The server failed to answer; its log says why.")


def _add_routes(app: FastAPI, assistant: Any, gate: Gate) -> None:
    """POST /ask, POST /retrieve, GET /documents; the library's work runs on `gate`."""

    @app.post("/ask", response_model=AskResponse)
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question with cited countermeasures (raw Markdown, [n] markers)."""
        history = [t.model_dump() for t in body.history]
        answer = await gate.run(
            assistant.ask, body.question, history, sources=body.sources, kinds=body.kinds
        )
        out: dict[str, Any] = answer.to_dict()
        return out

    @app.post("/retrieve", response_model=RetrieveResponse)
    async def retrieve(body: RetrieveRequest) -> dict[str, Any]:
        """Passages for a question, best first (hybrid search, second stage included)."""
        passages = await gate.run(
            assistant.retrieve, body.question, body.k, sources=body.sources, kinds=body.kinds
        )
        return {"passages": [passage_out(i, p) for i, p in enumerate(passages, 1)]}

    @app.get("/documents", response_model=list[DocumentOut])
    async def documents() -> list[dict[str, Any]]:
        """The indexed documents with their metadata."""
        records = await gate.run(assistant.documents)
        return [document_out(r) for r in records]


def api_routes(assistant: Any, options: ServeOptions, settings: Settings) -> list[Mount]:
    """The API mounted at /api, for the web chat's server (Gradio's `app_kwargs["routes"]`)."""
    return [Mount("/api", app=build_api(assistant, options, settings))]
