"""Small helpers the API test modules share: problem checks, the resources alike, spec walking."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml

from windsock.app import HTTP_METHODS, SPEC_PATH

API = "/api/v1"
PROBLEM_TYPE_BASE = "/api/v1/docs/errors#"
UNREACHABLE_DATABASE = "postgresql+psycopg://x@127.0.0.1:1/x"


def assert_problem(response, status: int, *words: str) -> dict:
    """Check that `response` is an RFC 9457 problem with `status` whose detail names `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}, body
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_TYPE_BASE)
    slug = body["type"].removeprefix(PROBLEM_TYPE_BASE)
    assert slug == body["title"].lower().replace(" ", "-")
    assert body["instance"] == response.request.url.path
    for word in words:
        assert word in (body["detail"] or ""), body["detail"]
    return body


def links(response) -> dict[str, str]:
    """The RFC 8288 `Link` header as {rel: target}."""
    header = response.headers.get("link", "")
    return {rel: target for target, rel in re.findall(r'<([^>]*)>;\s*rel="([^"]+)"', header)}


@dataclass(frozen=True)
class Resource:
    """How one of the keyed resources (variables, connections, pools) looks on the wire."""

    plural: str
    key: str
    sample: dict[str, Any]
    change: dict[str, Any]  # two fields a PATCH may change
    required: str  # a mandatory field besides the key
    order_fields: tuple[str, ...]
    tie_field: str | None = None  # an order field several items may share
    extra_items: int = 0  # items present before a test creates any (default_pool)
    read_only: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return f"{API}/{self.plural}"

    def url(self, key: str) -> str:
        return f"{self.path}/{key}"

    def body(self, key: str, **fields: Any) -> dict[str, Any]:
        return {**self.sample, self.key: key, **fields}

    def create(self, client, key: str, **fields: Any) -> dict[str, Any]:
        response = client.post(self.path, json=self.body(key, **fields))
        assert response.status_code == 201, response.text
        return response.json()

    def keys(self, response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item[self.key] for item in response.json()[self.plural]]


VARIABLES = Resource(
    plural="variables", key="key",
    sample={"value": "eu-west-1", "description": "Region of the export."},
    change={"value": "us-east-2", "description": "Moved."},
    required="value",
    order_fields=("key",),
)
CONNECTIONS = Resource(
    plural="connections", key="connection_id",
    sample={"conn_type": "postgres", "description": "Warehouse", "host": "db.internal",
            "login": "reporting", "password": "s3cr3t", "schema": "analytics", "port": 5432,
            "extra": '{"sslmode": "require"}'},
    change={"host": "db2.internal", "port": 6432},
    required="conn_type",
    order_fields=("connection_id", "conn_type", "host"),
    tie_field="conn_type",
)
POOLS = Resource(
    plural="pools", key="name",
    sample={"slots": 4, "description": "Warehouse queries", "include_deferred": False},
    change={"slots": 8, "description": "Bigger"},
    required="slots",
    order_fields=("name", "slots"),
    tie_field="slots",
    extra_items=1,
    read_only=("open_slots", "occupied_slots"),
)
RESOURCES = (VARIABLES, CONNECTIONS, POOLS)


def resource_params(resources=RESOURCES):
    """`pytest.mark.parametrize` arguments that name each resource by its plural."""
    return [pytest.param(r, id=r.plural) for r in resources]


def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def resolved(document: dict, node: dict) -> dict:
    """`node` with its local `$ref`s (`#/components/...`) followed."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def body_example(document: dict, operation: dict) -> Any:
    """The JSON body the contract's example gives the operation's request: the request schema's
    example, `{}` when it has none, None when the operation takes no body."""
    if "requestBody" not in operation:
        return None
    content = resolved(document, operation["requestBody"])["content"]["application/json"]
    return copy.deepcopy(resolved(document, content["schema"]).get("example", {}))


def security_of(document: dict, operation: dict) -> list[dict]:
    """The operation's security alternatives: its own `security`, else the document's.
    `[]` means public; `{}` among them means callers without credentials are served too."""
    return operation.get("security", document.get("security", []))


def dummy_value(param: dict) -> str:
    """A value that matches every key pattern: `1` for the numeric ids, `dummy` otherwise."""
    return "1" if param["schema"].get("type") == "integer" else "dummy"


def example_value(param: dict) -> str:
    """The parameter's example from the contract, as it is written in a URL."""
    example = param.get("example", param["schema"].get("example"))
    if isinstance(example, list):  # style form, explode false: comma-separated
        example = ",".join(map(str, example))
    return str(example)


def operations(fill: Callable[[dict], str] = dummy_value
               ) -> Iterator[tuple[str, str, str, dict]]:
    """(operationId, METHOD, concrete URL, operation) of every operation in the bundled spec.

    Path parameters and required query parameters are filled by `fill` (given the parameter
    with its schema resolved): by default with a dummy value that matches every key pattern,
    so that each URL reaches its operation; `example_value` uses the contract's examples.
    """
    document = spec()
    base = document["servers"][0]["url"].rstrip("/")

    def param_of(node: dict) -> dict:
        param = resolved(document, node)
        return {**param, "schema": resolved(document, param["schema"])}

    for template, item in document["paths"].items():
        server = item.get("servers", [{}])[0].get("url", base).rstrip("/")  # the experimental API
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            params = {p["name"]: p for p in map(param_of, item.get("parameters", [])
                                                 + operation.get("parameters", []))}
            path = server + re.sub(r"\{([^/}]+)\}",
                                 lambda m: quote(fill(params[m.group(1)]), safe=""), template)
            required = {p["name"]: fill(p) for p in params.values()
                        if p["in"] == "query" and p.get("required")}
            url = f"{path}?{urlencode(required)}" if required else path
            yield operation["operationId"], method.upper(), url, operation
