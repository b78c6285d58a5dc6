"""The API application: connexion routes the bundled contract to the generated controllers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path

import yaml
from connexion import FlaskApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.security import SecurityMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolution, Resolver

from windsock import config
from windsock.api import audit, idempotency, problems
from windsock.api.deprecation import ExperimentalGate, successors
from windsock.api.guard import Guard, rules
from windsock.api.headers import ResponseHeaders
from windsock.api.health_lane import HEALTH_PATH, HealthLane
from windsock.api.limits import BodySizeLimit, RequestHeadLimit
from windsock.api.reference import ReferencePages
from windsock.api.routing import LineFeedPaths
from windsock.api.swagger import UI_PATH, SwaggerPage
from windsock.api.validation import validator_map
from windsock.api.wait_stream import WaitStreams
from windsock.db import migrate
from windsock.security import backends

# The bundled contract: in a checkout a link to spec/dist/openapi.yaml, in a wheel a copy of it.
SPEC_PATH = Path(__file__).with_name("contract") / "openapi.yaml"
CONTROLLERS = "windsock.generated"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Answers are compact, in the order the operations build them (connexion's default indents and
# sorts them, which takes several times as long as the encoding itself).
COMPACT_JSON = Jsonifier(json, separators=(",", ":"))


def module_name(tag: str) -> str:
    """A tag's module name, as openapi-generator's snakecase writes it: DAGRun -> dag_run."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", tag)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).replace("-", "_").lower()


class TagResolver(Resolver):
    """Routes each operation to `windsock.generated.<tag>_controller.<operationId>`."""

    def resolve_operation_id(self, operation) -> str:
        tag = operation._operation["tags"][0]
        return f"{CONTROLLERS}.{module_name(tag)}_controller.{operation.operation_id}"

    def resolve(self, operation) -> Resolution:
        """The controller function; mutating operations run in one transaction with their
        event log row, but those that may check credentials in their body (public ones, or
        ones that also serve anonymous callers) must keep counting refused attempts. Those
        that take an Idempotency-Key store their answers to it in that transaction too."""
        resolution = super().resolve(operation)
        if audit.is_audited(operation.method, operation.operation_id):
            security = operation.security
            function = resolution.function
            if idempotency.accepts_key(operation._operation):
                function = idempotency.idempotent(function)
            function = audit.audited(operation.operation_id, function,
                                     audit.dry_run_default(operation._operation),
                                     atomic=bool(security) and {} not in security)
            return Resolution(function, resolution.operation_id)
        return resolution


@cache
def _bundled_spec(path: Path) -> str:
    return path.read_text()


def specification() -> dict:
    """The bundled contract as this server serves and validates it, with configured bounds."""
    spec = yaml.safe_load(_bundled_spec(SPEC_PATH))
    configure_maximums(spec)
    return spec


def configure_maximums(node: object) -> None:
    """Give every schema marked `x-configured-maximum: {section, option}` that option's value
    as its `maximum` (and a `default` no larger), so that validation rejects what the contract
    served at /openapi.json (and shown by Swagger UI) says is too large, and nothing else."""
    pending = [node]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if source := node.get("x-configured-maximum"):
                node["maximum"] = config.get_int(source["section"], source["option"])
                if "default" in node:
                    node["default"] = min(node["default"], node["maximum"])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def middlewares(spec: dict) -> list:
    """connexion's middleware stack with its security step replaced by Windsock's guard, so
    that the configured auth backends decide who is calling, in their order."""
    guard = partial(Guard, rules=rules(spec))
    return [guard if m is SecurityMiddleware else m
            for m in ConnexionMiddleware.default_middlewares]


def base_path(spec: dict) -> str:
    return spec["servers"][0]["url"].rstrip("/")


def served_apart(spec: dict) -> tuple[dict, list[dict]]:
    """The contract without the paths that name servers of their own (the experimental API,
    below /api/experimental), and one document per such server, whose base path is the
    server's URL with the paths' shared first segment (`/api` + `/experimental/...`)."""
    apart: dict[str, dict] = {}
    for template, item in spec["paths"].items():
        if "servers" in item:
            url = item["servers"][0]["url"].rstrip("/")
            segment, _, rest = template[1:].partition("/")
            paths = apart.setdefault(f"{url}/{segment}", {})
            paths["/" + rest] = {k: v for k, v in item.items() if k != "servers"}
    stable = {**spec, "paths": {t: i for t, i in spec["paths"].items() if "servers" not in i}}
    return stable, [{**spec, "servers": [{"url": url}], "paths": paths}
                    for url, paths in apart.items()]


def allowed_methods(spec: dict) -> Callable[[str], str | None]:
    """A function giving the `Allow` header for a request path, from the contract's paths."""
    table = []
    for template, item in spec["paths"].items():
        base = base_path(item if "servers" in item else spec)
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(base + template))
        methods = {m.upper() for m in item if m in HTTP_METHODS}
        if "GET" in methods:
            methods.add("HEAD")
        table.append((re.compile(pattern + "$"), ", ".join(sorted(methods))))
    # Literal paths (/connections/test) win over templated ones (/connections/{id}).
    table.sort(key=lambda entry: "[^/]+" in entry[0].pattern)

    def allow(path: str) -> str | None:
        return next((methods for regex, methods in table if regex.match(path)), None)

    return allow


def create_app(*, check_schema: bool = True) -> FlaskApp:
    """Build the application; refuses (NotMigrated) when the database schema is not current."""
    config.ensure_config_file()
    backends.configured()  # an unknown auth backend stops the start, not the first request
    if check_schema:
        migrate.check_current()
    spec = specification()
    app = FlaskApp(__name__, middlewares=middlewares(spec))
    stable, others = served_apart(spec)
    api = partial(app.add_api, resolver=TagResolver(), strict_validation=True,
                  pythonic_params=True, validator_map=validator_map(), jsonifier=COMPACT_JSON)
    api(stable, swagger_ui_options=SwaggerUIOptions(swagger_ui_path=UI_PATH))
    for other in others:
        api(other, swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False))
    ui_path = base_path(spec) + UI_PATH
    # Outermost: health checks skip everything else.
    app.add_middleware(HealthLane, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       path=base_path(spec) + HEALTH_PATH)
    # Outside connexion's error handling, so that its problem documents get the headers too.
    app.add_middleware(ResponseHeaders, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       ui_path=ui_path)
    app.add_middleware(ExperimentalGate, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       successor=successors(spec))
    # Inside it, outermost first.
    for middleware in (RequestHeadLimit, BodySizeLimit, LineFeedPaths):
        app.add_middleware(middleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(SwaggerPage, position=MiddlewarePosition.BEFORE_SWAGGER, path=ui_path)
    app.add_middleware(ReferencePages, position=MiddlewarePosition.BEFORE_SWAGGER,
                       base_path=base_path(spec))
    # Innermost: continues the answers of waits for runs once their operation has returned.
    app.add_middleware(WaitStreams, position=MiddlewarePosition.BEFORE_CONTEXT)
    problems.install(app, allowed_methods(spec))
    return app
