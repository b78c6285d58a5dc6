"""The documentation the API server serves beside Swagger UI: the API reference (Redocly's
rendering of the bundled contract) at `<base path>/docs` and the error catalogue
(docs/errors.md) at `<base path>/docs/errors`, where every problem's `type` points
(`/api/v1/docs/errors#<slug>`). Both pages are written by scripts/generate.sh into
`windsock/generated/` and read once, when the server starts.

The reference page carries its scripts inline, so it gets a Content-Security-Policy of its own
that allows exactly those scripts (by their SHA-256), inline styles (its renderer makes them as
it goes) and nothing from other origins; the error catalogue has no script and keeps the strict
policy of every HTML answer (see `windsock.api.headers`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

REFERENCE_PATH = "/docs"  # under the API's base path
ERRORS_PATH = "/docs/errors"
GENERATED = Path(__file__).resolve().parents[1] / "generated"
REFERENCE_FILE, ERRORS_FILE = GENERATED / "reference.html", GENERATED / "errors.html"
HTML = "text/html; charset=utf-8"
INLINE_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.DOTALL)


def reference_policy(page: str) -> str:
    """The reference page's Content-Security-Policy: its own inline scripts only."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(page) if script.strip())
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src blob:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class ReferencePages:
    def __init__(self, app: ASGIApp, base_path: str) -> None:
        self.app = app
        reference = REFERENCE_FILE.read_text()
        self.pages = {
            base_path + REFERENCE_PATH: (reference, {
                "Content-Security-Policy": reference_policy(reference)}),
            base_path + ERRORS_PATH: (ERRORS_FILE.read_text(), {}),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = self.pages.get(scope.get("path", "")) if scope["type"] == "http" else None
        if page is None or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        content, headers = page
        # Public and the same for everyone until the server is upgraded.
        await Response(content, media_type=HTML,
                       headers={**headers, "Cache-Control": "public, max-age=300"})(
            scope, receive, send)
