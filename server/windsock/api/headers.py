"""Headers on every answer, as ASGI middleware outside connexion's error handling (so problem
documents carry them too), and CORS.

- `X-Content-Type-Options: nosniff` on every answer.
- `Cache-Control: no-store` on every answer that does not set its own Cache-Control: API answers
  are made for one caller (filtered by their permissions), and some carry secrets or tokens. Only
  the Swagger UI's files (everything under `<base path>/ui/`) are left cacheable; they are public,
  static and the same for everyone.
- On HTML (the Swagger UI page, the error catalogue): a Content-Security-Policy that lets the
  page load scripts, styles, images and data from its own origin only (plus the `data:` images
  of Swagger UI's stylesheet), with no inline script or style, and `X-Frame-Options: DENY`;
  a page that sets its own policy (the API reference, see `windsock.api.reference`) keeps it.
- CORS, off until `[api] access_control_allow_origins` names origins (or `*`). A preflight
  (OPTIONS with `Origin` and `Access-Control-Request-Method`) from an allowed origin is answered
  here, before routing and authentication, with the allowed methods and headers; every other
  answer to an allowed origin carries `Access-Control-Allow-Origin`. Requests from other origins
  get no CORS headers (a preflight from them goes on to the API, which answers OPTIONS with 405),
  so browsers keep them from reading the answer. Cookies are not allowed cross-origin
  (no `Access-Control-Allow-Credentials`): cross-origin code sends an `Authorization` header.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windsock import config

NOSNIFF = ("X-Content-Type-Options", "nosniff")
NO_STORE = ("Cache-Control", "no-store")
HTML_POLICY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}
# Response headers cross-origin code may read besides the CORS-safelisted ones.
EXPOSED = "ETag, Link, Location, Retry-After, WWW-Authenticate"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer


@dataclass(frozen=True)
class Cors:
    origins: frozenset[str]
    methods: str
    headers: str

    @classmethod
    def configured(cls) -> Cors | None:
        """The CORS settings, or None when CORS is off."""
        origins = config.get("api", "access_control_allow_origins").replace(",", " ").split()
        if not origins:
            return None
        return cls(frozenset(origins), config.get("api", "access_control_allow_methods"),
                   config.get("api", "access_control_allow_headers"))

    def allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin for a request from `origin`, if it is allowed."""
        if origin is None:
            return None
        if "*" in self.origins:
            return "*"
        return origin if origin in self.origins else None


class ResponseHeaders:
    def __init__(self, app: ASGIApp, ui_path: str) -> None:
        self.app = app
        self.ui_prefix = ui_path.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cors = Cors.configured()
        request = Headers(scope=scope)
        origin = cors.allowed(request.get("origin")) if cors else None
        cacheable = scope["path"].startswith(self.ui_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault(*NOSNIFF)
                if not cacheable:
                    headers.setdefault(*NO_STORE)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in HTML_POLICY.items():  # a page may bring its own
                        headers.setdefault(name, value)
                if cors:
                    headers.add_vary_header("Origin")
                if origin:
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Access-Control-Expose-Headers"] = EXPOSED
            await send(message)

        if origin and scope["method"] == "OPTIONS" and "access-control-request-method" in request:
            preflight = {"Access-Control-Allow-Methods": cors.methods,
                         "Access-Control-Allow-Headers": cors.headers,
                         "Access-Control-Max-Age": PREFLIGHT_MAX_AGE}
            await Response(status_code=204, headers={k: v for k, v in preflight.items() if v})(
                scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
