"""Authentication backends: the extension point for how callers prove who they are.

A backend is a module (or any object) with two attributes:

- ``CHALLENGE``: the ``WWW-Authenticate`` value it offers in a 401 answer, or ``None``.
- ``authenticate(request) -> Identity | None``: the caller's identity when the request carries
  credentials this backend accepts, ``None`` otherwise (no credentials of its kind, or wrong
  ones). It may raise ``Refused`` to have the request answered with an error instead, such as
  ``TooManyFailures`` (429 with ``Retry-After``).

A backend may also name, as ``SCHEME``, the security scheme of the contract it implements
(``Basic``, ``Bearer``, ``Cookie``, ``Negotiate``). It is then tried only for operations whose
``security`` lists that scheme (``POST /auth/logout`` takes the session cookie only, for
example). A backend without ``SCHEME`` is tried for every operation.

``[api] auth_backends`` lists the backends to try, in order, as dotted module paths or the
short names of the built-in ones; the first identity wins. Backends run in a worker thread and
may use the database (``windsock.db.engine.session``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from starlette.requests import Request

from windsock import config

BUILT_IN = {
    "basic": "windsock.security.backends.basic",
    "session": "windsock.security.backends.session",
    "bearer": "windsock.security.backends.bearer",
    "deny_all": "windsock.security.backends.deny_all",
    "kerberos": "windsock.security.backends.kerberos",
}


@dataclass(frozen=True)
class Identity:
    """An authenticated, active user, and how they authenticated (the backend's short name)."""

    user_id: int
    username: str
    via: str


class Refused(Exception):
    """The request carries credentials of the backend's kind but must be answered with an error
    (status, detail and headers) rather than tried with the next backend."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class TooManyFailures(Refused):
    """Too many recent failed attempts for these credentials; retry after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"Too many failed attempts; retry after {retry_after} seconds.",
                         {"Retry-After": str(retry_after)})
        self.retry_after = retry_after


@cache
def _load(name: str) -> ModuleType:
    try:
        module = importlib.import_module(BUILT_IN.get(name, name))
    except ImportError as exc:
        raise config.ConfigError(f"Auth backend {name!r} cannot be loaded: {exc}") from exc
    if not callable(getattr(module, "authenticate", None)) or not hasattr(module, "CHALLENGE"):
        raise config.ConfigError(f"Auth backend {name!r} lacks authenticate() or CHALLENGE.")
    return module


def configured() -> list[ModuleType]:
    """The backends named by `[api] auth_backends`, in order."""
    names = [n.strip() for n in config.get("api", "auth_backends").split(",") if n.strip()]
    if not names:
        raise config.ConfigError("[api] auth_backends is empty; use deny_all to refuse everyone.")
    return [_load(name) for name in names]


def _offered(schemes: frozenset[str] | None) -> list[ModuleType]:
    """The configured backends that may serve an operation offering `schemes` (None: all)."""
    return [b for b in configured()
            if schemes is None or getattr(b, "SCHEME", None) in (None, *schemes)]


def authenticate(request: Request, schemes: frozenset[str] | None = None) -> Identity | None:
    """The identity from the first configured backend (of those serving `schemes`) that
    accepts the request."""
    for backend in _offered(schemes):
        identity = backend.authenticate(request)
        if identity is not None:
            return identity
    return None


def challenges(schemes: frozenset[str] | None = None) -> list[str]:
    """The `WWW-Authenticate` challenges of the configured backends serving `schemes`."""
    return [b.CHALLENGE for b in _offered(schemes) if b.CHALLENGE]
