"""The Swagger UI page, without inline script or style, so that its Content-Security-Policy
(see `windsock.api.headers`) can forbid both.

connexion's page starts Swagger UI from an inline `<script>` and styles itself with an inline
`<style>`. This middleware answers the page, its start script and its stylesheet itself, as
files of the same origin, and leaves the rest of the UI path (Swagger UI's own scripts,
stylesheet and icons) to connexion.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

UI_PATH = "/ui"  # under the API's base path

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Windsock API - Swagger UI</title>
  <link rel="stylesheet" type="text/css" href="./swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="./windsock-ui.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="./windsock-ui.js" charset="UTF-8"></script>
</body>
</html>
"""

# The contract is served beside the UI path: <base path>/openapi.json.
START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "../openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
});
"""

STYLE = """html { box-sizing: border-box; overflow-y: scroll; }
*, *:before, *:after { box-sizing: inherit; }
body { margin: 0; background: #fafafa; }
"""


class SwaggerPage:
    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        page = (PAGE, "text/html; charset=utf-8")
        self.files = {f"{path}/": page, f"{path}/index.html": page,
                      f"{path}/windsock-ui.js": (START, "text/javascript; charset=utf-8"),
                      f"{path}/windsock-ui.css": (STYLE, "text/css; charset=utf-8")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        file = self.files.get(scope.get("path", "")) if scope["type"] == "http" else None
        if file is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        content, media_type = file
        await Response(content, media_type=media_type)(scope, receive, send)
