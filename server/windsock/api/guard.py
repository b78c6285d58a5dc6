"""The API's gate: authenticate every request and check the operation's declared permissions
before the request is validated or any work is done.

Runs as ASGI middleware after routing, so it knows the operation. Its needs come from the
contract's `x-permissions`, and only the backends implementing the security schemes the
operation lists are tried. Operations with `security: []` are served to anyone (`GET /health`,
and login, which checks the credentials in its body); those allowing `{}` among their security
alternatives use credentials when sent and are served without them too (the token exchange,
which then checks credentials in its body). The caller lands in connexion's context: `user`
(the username), `token_info` (the `Principal`) and `auth_schemes` (the schemes offered).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from windsock.api import problems
from windsock.security import authorization, backends
from windsock.security.authorization import Principal
from windsock.security.model import Pair

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@dataclass(frozen=True)
class Rule:
    needs: list[Pair]
    public: bool  # `security: []`: served to anyone, credentials are not even looked at
    anonymous: bool  # `{}` among the alternatives: credentials are used when sent
    schemes: frozenset[str]  # the security schemes the operation accepts


def rules(spec: dict) -> dict[str, Rule]:
    """Each operationId's rule, read from the contract."""
    default_security = spec.get("security", [])
    table = {}
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            security = operation.get("security", default_security)
            # A need with `when` depends on the body: the operation checks it (see api.bulk).
            needs = [(p["action"], p["resource"]) for p in operation["x-permissions"]
                     if "when" not in p]
            schemes = frozenset(name for requirement in security for name in requirement)
            table[operation["operationId"]] = Rule(needs, not security, {} in security, schemes)
    return table


def describe(pairs: list[Pair]) -> str:
    return ", ".join(f"{action} on {resource}" for action, resource in pairs)


def authorize(caller: Principal, needs: list[Pair], dag_id: str | None = None) -> None:
    """Raise 403 naming every permission the caller lacks (API access comes first)."""
    lacking = authorization.missing(caller, needs, dag_id)
    if lacking:
        scope = f" for DAG {dag_id!r}" if dag_id and dag_id != authorization.ALL_DAGS else ""
        raise problems.Forbidden(f"User {caller.username!r} lacks the permission "
                                 f"{describe(lacking)}{scope}.")


def problem_of(refused: backends.Refused) -> problems.Problem:
    return problems.Problem(refused.detail, status=refused.status, headers=refused.headers)


def _caller(request: Request, rule: Rule) -> Principal | None:
    try:
        identity = backends.authenticate(request, rule.schemes)
    except backends.Refused as refused:
        raise problem_of(refused) from None
    if identity is None:
        if rule.anonymous:
            return None
        raise problems.Unauthorized("No valid credentials were sent with the request.",
                                    challenges=backends.challenges(rule.schemes))
    caller = authorization.principal(identity)
    authorize(caller, rule.needs, request.path_params.get("dag_id"))
    return caller


class Guard:
    """ASGI middleware applying the contract's authentication and permission rules."""

    def __init__(self, app: ASGIApp, rules: dict[str, Rule]) -> None:
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        # Routing names the resolved controller function; its last part is the operationId.
        rule = self.rules.get(str(routing.get("operation_id")).rpartition(".")[2])
        if scope["type"] == "http" and rule and not rule.public:
            caller = await run_in_threadpool(_caller, Request(scope), rule)
            context = scope["extensions"].setdefault("connexion_context", {})
            context["user"] = caller.username if caller else None
            context["token_info"] = caller
            context["auth_schemes"] = rule.schemes
        await self.app(scope, receive, send)
