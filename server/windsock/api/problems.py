"""RFC 9457 problem+json: the one error format of the API, with stable `type` URIs.

Operations raise `Problem` (or one of its named subclasses); `install` registers handlers that
turn it, connexion's own validation errors, HTTP errors, database outages and task logs on a
worker that cannot be reached (both 503) into problem documents. Unexpected exceptions are
logged with their stack trace and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import sqlalchemy.exc
from connexion import FlaskApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from windsock import __version__
from windsock.logs import LogUnavailable
from windsock.security import redaction

log = logging.getLogger(__name__)

TYPE_BASE = "/api/v1/docs/errors"  # the error catalogue the server serves (api.reference)
AUTH_CHALLENGE = 'Basic realm="windsock", charset="UTF-8"'
RETRY_AFTER_SECONDS = "5"


class Problem(Exception):
    """An error answered to the client as a problem document."""

    status = 400
    title: str | None = None  # a specific title (and type) instead of the status's own

    def __init__(self, detail: str, *, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(Problem):
    status = 400


class Unauthorized(Problem):
    status = 401

    def __init__(self, detail: str, *, challenges: list[str]) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": ", ".join(challenges)}
                         if challenges else None)


class Forbidden(Problem):
    status = 403


class NotFound(Problem):
    status = 404


class NotAcceptable(Problem):
    status = 406


class Conflict(Problem):
    status = 409


class PreconditionFailed(Problem):
    status = 412


class ContentTooLarge(Problem):
    status = 413


class UriTooLong(Problem):
    status = 414


class Unprocessable(Problem):
    status = 422


class HeaderFieldsTooLarge(Problem):
    status = 431


class DagHasImportErrors(Unprocessable):
    """The DAG's file fails to load now, so the DAG cannot be run until it is fixed."""

    title = "DAG Has Import Errors"


def title_of(status: int) -> str:
    return {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}.get(
        status, HTTP_STATUS_CODES.get(status, "Error"))


def type_of(title: str) -> str:
    return f"{TYPE_BASE}#{title.lower().replace(' ', '-')}"


def problem_response(status: int, detail: str | None, instance: str,
                     headers: dict[str, str] | None = None,
                     title: str | None = None) -> ConnexionResponse:
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", AUTH_CHALLENGE)
    if status in (429, 503):
        headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
    return ConnexionResponse(status_code=status, mimetype="application/problem+json",
                             content_type="application/problem+json",
                             body=document(status, detail, instance, title), headers=headers)


def document(status: int, detail: str | None, instance: str | None,
             title: str | None = None) -> str:
    """The problem document's JSON text."""
    title = title or title_of(status)
    return json.dumps({"type": type_of(title), "title": title, "status": status,
                       "detail": detail, "instance": instance})


def _on_problem(request: ConnexionRequest, exc: Problem) -> ConnexionResponse:
    return problem_response(exc.status, exc.detail, request.url.path, exc.headers, exc.title)


def _on_connexion_problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    return problem_response(exc.status, exc.detail, request.url.path, exc.headers)


def _on_bad_encoding(request: ConnexionRequest, exc: UnicodeDecodeError) -> ConnexionResponse:
    return problem_response(400, f"The request body is not valid UTF-8: {exc.reason} at byte "
                            f"{exc.start}.", request.url.path)


# Errors of a database that answers but kept the request waiting too long: a lock not granted
# within `[database] wait_timeout` (SQLite's write lock, a PostgreSQL lock), or a deadlock.
BUSY_SQLSTATES = frozenset({"55P03", "40P01"})


def _busy(exc: Exception) -> bool:
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # no pooled connection came free in time
        return True
    orig = getattr(exc, "orig", None)
    return (getattr(orig, "sqlstate", None) in BUSY_SQLSTATES
            or "database is locked" in str(orig))


def _on_database_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    if _busy(exc):
        log.warning("metadata database busy on %s %s: %s", request.method, request.url.path,
                    type(getattr(exc, "orig", exc)).__name__)
        detail = "The metadata database is busy with other changes; try again shortly."
    else:
        log.error("metadata database unreachable: %s", exc)
        detail = "The metadata database is unreachable; try again shortly."
    return problem_response(503, detail, request.url.path)


def _on_log_unavailable(request: ConnexionRequest, exc: LogUnavailable) -> ConnexionResponse:
    log.warning("task log unavailable on %s: %s", request.url.path, exc)
    return problem_response(503, str(exc), request.url.path)


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.exception("unhandled error on %s %s (windsock %s)", request.method, request.url.path,
                  __version__, exc_info=exc)
    return problem_response(500, "The server failed to handle the request; the error is logged.",
                            request.url.path)


def install(app: FlaskApp, allow: Callable[[str], str | None]) -> None:
    """Register the problem handlers; `allow` gives the Allow header of a path, for 405. The
    errors they log are described without the values a database error may quote."""
    redaction.install()

    def on_http_error(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        headers = dict(exc.headers or {})
        detail = exc.detail if exc.detail != title_of(exc.status_code) else None
        if exc.status_code == 405:
            headers["Allow"] = allow(request.url.path) or headers.get("Allow", "")
            detail = f"{request.method} is not supported here; use {headers['Allow']}."
        return problem_response(exc.status_code, detail, request.url.path, headers)

    app.add_error_handler(Problem, _on_problem)
    app.add_error_handler(ProblemException, _on_connexion_problem)
    app.add_error_handler(HTTPException, on_http_error)
    app.add_error_handler(UnicodeDecodeError, _on_bad_encoding)
    for error in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                  sqlalchemy.exc.TimeoutError):
        app.add_error_handler(error, _on_database_error)
    app.add_error_handler(LogUnavailable, _on_log_unavailable)
    app.add_error_handler(Exception, _on_unexpected)
