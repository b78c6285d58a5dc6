"""Field values that cannot be stored or converted are the client's mistake, in every operation.

Generated from the contract: each string field at the top level of each request body (a list of
strings gets a one-item list), each path parameter and each string or list query parameter gets,
one at a time in a request otherwise made from the contract's examples, each hostile value:

- in a body: a lone UTF-16 surrogate (JSON `"\\ud800"`) and a NUL character;
- in a URL: the surrogate's bytes `%ED%A0%80`, a NUL (`%00`) and a byte that is not UTF-8 (`%FF`);
- in a `date-time` field or parameter also: datetimes that leave the years 1 to 9999 in UTC.

Each answer must be a 400 problem naming the field, and no table may gain or lose a row. Two
more requests put hostile text inside the free-form `conf` object of a new run, as a nested value
and as a key. Header parameters are left out: HTTP cannot carry these characters in a header.

Measured size (2026-12-05): 1,029 requests (390 with a body field, 340 with a query parameter,
297 with a path parameter; 2 nested), 14 s on SQLite on a quiet 2-core machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from tests.api.helpers import (API, assert_problem, body_example, example_value, operations,
                               resolved)
from tests.support.seed import contract, parameter_examples, seed_contract_examples
from windsock.db.engine import session
from windsock.db.models import Base

BODY_TEXT = {"surrogate": "\ud800", "nul": "a\x00b"}
URL_TEXT = {"surrogate": "%ED%A0%80", "nul": "%00", "not-utf8": "%FF"}
OVERFLOWS = {"before-year-1": "0001-01-01T00:00:00+01:00",
             "after-year-9999": "9999-12-31T23:59:59-01:00"}
OVERFLOWS_IN_URL = {kind: quote(value, safe="") for kind, value in OVERFLOWS.items()}


@dataclass(frozen=True)
class Case:
    """One request carrying one hostile value in the field `name`. The validators reject text
    before the operation runs, whatever the path names; datetimes are checked by the operation,
    so the objects its path names must exist (`seeded`) for it to get that far."""

    method: str
    url: str
    body: Any
    name: str
    seeded: bool = False


def _token(name: str) -> str:
    """What stands for a URL parameter in a URL template (as `quote` and `urlencode` write it)."""
    return quote(f"@{name}@", safe="")


def _filled(template: str, filled: dict[str, dict], target: str = "", value: str = "") -> str:
    """The URL template with `value` for the `target` parameter and examples for the others."""
    for name, param in filled.items():
        replacement = value if name == target else quote(example_value(param), safe="")
        template = template.replace(_token(name), replacement)
    return template


def _text_schema(document: dict, node: dict) -> dict:
    """The schema of a field or parameter, or of its items when it is a list; of an item that
    may be text or something else (a clear form's task id or `[task_id, map_index]`), its text."""
    schema = resolved(document, node)
    if schema.get("type") == "array":
        schema = resolved(document, schema["items"])
    alternatives = [resolved(document, s) for s in schema.get("oneOf", [])]
    return next((s for s in alternatives if s.get("type") == "string"), schema)


def _hostile(schema: dict, text: dict[str, str], overflows: dict[str, str]) -> dict[str, str]:
    """{kind: value} to send a field or parameter of `schema`; empty when it is not text."""
    if schema.get("type") != "string":
        return {}
    return {**text, **overflows} if schema.get("format") == "date-time" else text


def _body_cases(op_id: str, method: str, url: str, example: Any, document: dict,
                operation: dict) -> list:
    if example is None:
        return []
    content = resolved(document, operation["requestBody"])["content"]["application/json"]
    cases = []
    for field, node in resolved(document, content["schema"]).get("properties", {}).items():
        is_list = resolved(document, node).get("type") == "array"
        for kind, value in _hostile(_text_schema(document, node), BODY_TEXT, OVERFLOWS).items():
            body = {**example, field: [value] if is_list else value}
            cases.append(pytest.param(Case(method, url, body, field, kind in OVERFLOWS),
                                      id=f"{op_id}-body-{field}-{kind}"))
    return cases


def _url_cases(op_id: str, method: str, template: str, example: Any, filled: dict[str, dict],
               document: dict, operation: dict) -> list:
    queries = [resolved(document, p) for p in operation.get("parameters", [])]
    cases = []
    for name, param in {**{p["name"]: p for p in queries if p["in"] == "query"}, **filled}.items():
        schema = _text_schema(document, param["schema"])
        for kind, value in _hostile(schema, URL_TEXT, OVERFLOWS_IN_URL).items():
            url = _filled(template, filled, name, value)
            if name not in filled:  # an optional query parameter
                url += f"{'&' if '?' in url else '?'}{name}={value}"
            cases.append(pytest.param(Case(method, url, example, name, kind in OVERFLOWS),
                                      id=f"{op_id}-{param['in']}-{name}-{kind}"))
    return cases


def hostile_cases() -> list:
    """One case per (operation, field or parameter, hostile value) of the contract."""
    document = contract()
    filled: dict[str, dict] = {}  # the URL parameters `operations` fills, per operation

    def token(param: dict) -> str:
        filled[param["name"]] = param
        return f"@{param['name']}@"

    cases = []
    for op_id, method, template, operation in operations(token):
        example = body_example(document, operation)
        cases += _body_cases(op_id, method, _filled(template, filled), example, document,
                             operation)
        cases += _url_cases(op_id, method, template, example, filled, document, operation)
        filled.clear()
    return cases


def row_counts() -> list[int]:
    """The number of rows of every table, in one query."""
    counts = [select(func.count()).select_from(table).scalar_subquery()
              for table in Base.metadata.sorted_tables]
    with session() as sess:
        return list(sess.execute(select(*counts)).one())


def assert_rejected(client, case: Case) -> None:
    """The request is a 400 problem naming the field (or its first item), and writes nothing."""
    if case.seeded:
        seed_contract_examples()
    before = row_counts()
    response = client.request(case.method, case.url, headers={"Content-Type": "application/json"},
                              content=None if case.body is None else json.dumps(case.body))
    detail = assert_problem(response, 400)["detail"]
    assert re.search(rf"'{re.escape(case.name)}(\[0\])?'", detail), detail
    assert row_counts() == before


@pytest.fixture(autouse=True)
def experimental_api_on(enable) -> None:
    """The walk holds the experimental operations, which are 404 before any check while off."""
    enable("enable_experimental_api")


@pytest.mark.parametrize("case", hostile_cases())
def test_hostile_values_are_rejected_without_writing(client, case):
    assert_rejected(client, case)


@pytest.mark.parametrize("conf, name", [
    pytest.param({"a": {"b": "\ud800"}}, "conf.a.b", id="nested-value-surrogate"),
    pytest.param({"a": [{"\x00": 1}]}, "conf.a[0]", id="nested-key-nul"),
])
def test_hostile_text_inside_free_form_json(client, conf, name):
    url = f"{API}/dags/{parameter_examples(contract())['dag_id']}/dagRuns"
    assert_rejected(client, Case("POST", url, {"dag_run_id": "hostile", "conf": conf}, name))


def test_surrogate_pairs_and_replacement_characters_are_text(client):
    """Only lone surrogates are refused: a pair escaped in JSON is one character, and U+FFFD
    sent as UTF-8 is a character like any other."""
    body = json.dumps({"key": "emoji", "value": "\U0001F600 \ufffd"})  # "\ud83d\ude00 \ufffd"
    response = client.post(f"{API}/variables", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert client.get(f"{API}/variables/emoji").json()["value"] == "\U0001F600 \ufffd"
    assert client.get(f"{API}/eventLogs?owner=%EF%BF%BD").status_code == 200
