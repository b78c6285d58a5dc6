"""The conventions every operation shares (DESIGN.md section 4): authentication, problem
documents, methods, media types, body limits, the served contract, and the collection and
single-resource behaviour that variables, connections and pools have alike."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from windsock.app import served_apart

from tests.conftest import ADMIN
from tests.api.helpers import (
    API, CONNECTIONS, POOLS, RESOURCES, VARIABLES, assert_problem, body_example, links,
    operations, resource_params, security_of, spec,
)

DOCUMENT = spec()
# (operationId, METHOD, URL, the example body or None, the security alternatives)
WALK = [(op_id, method, path, body_example(DOCUMENT, op), security_of(DOCUMENT, op))
        for op_id, method, path, op in operations()]


def operation_params(wanted=lambda security: True) -> list:
    """(method, path, body) of the operations whose security alternatives are `wanted`."""
    return [pytest.param(method, path, body, id=op_id)
            for op_id, method, path, body, security in WALK if wanted(security)]


OPERATIONS = operation_params()
# `security: []` serves anyone (health, login); `{}` among the alternatives serves callers without
# credentials too (the token exchange, which then wants them in its body; see
# test_authorization_matrix).
NEEDING_CREDENTIALS = operation_params(lambda security: security and {} not in security)
ALL_BUT_HEALTH = [p for p in OPERATIONS if p.id != "get_health"]
BODY_OPERATIONS = [pytest.param(*p.values[:2], id=p.id)
                   for p in OPERATIONS if p.values[2] is not None]


@pytest.fixture(autouse=True)
def experimental_api_on(enable) -> None:
    """The walk holds the experimental operations, which are 404 before any check while off."""
    enable("enable_experimental_api")


# Authentication and outages


def test_every_operation_is_in_the_walk():
    assert {p.id for p in OPERATIONS} >= {
        "get_health", "get_version", "get_config", "get_value", "get_variables",
        "post_variables", "get_variable", "patch_variable", "delete_variable", "get_connections",
        "post_connection", "get_connection", "patch_connection", "delete_connection",
        "test_connection", "get_pools", "post_pool", "get_pool", "patch_pool", "delete_pool"}


@pytest.mark.parametrize("method, path, body", NEEDING_CREDENTIALS)
def test_every_operation_needs_credentials_unless_its_security_says_otherwise(
        client, method, path, body):
    response = client.request(method, path, json=body, auth=None)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize("credentials", [("admin", "wrong-password"), ("nobody", "x")],
                         ids=["wrong-password", "unknown-user"])
def test_bad_credentials_are_401(client, credentials):
    response = client.get(f"{API}/variables", auth=credentials)
    assert_problem(response, 401)
    assert "www-authenticate" in response.headers


@pytest.mark.parametrize("method, path, body", ALL_BUT_HEALTH)
def test_every_operation_is_503_with_retry_after_when_the_database_is_down(
        client, database_down, method, path, body):
    # A session cookie too, for the operations that take no basic credentials (logout).
    response = client.request(method, path, json=body,
                              headers={"Cookie": "windsock_session=any-session"})
    assert_problem(response, 503, "database")
    assert int(response.headers["retry-after"]) > 0


# Methods, media types and bodies


@pytest.mark.parametrize("method, path, allow", [
    ("PUT", f"{API}/variables/x", "DELETE, GET, HEAD, PATCH"),
    ("DELETE", f"{API}/pools", "GET, HEAD, PATCH, POST"),
    ("DELETE", f"{API}/version", "GET, HEAD"),
    ("POST", f"{API}/health", "GET, HEAD"),
])
def test_unsupported_method_is_405_with_allow(client, method, path, allow):
    response = client.request(method, path)
    assert_problem(response, 405, method)
    assert response.headers["allow"] == allow


def test_unknown_query_parameter_is_400_naming_it(client):
    assert_problem(client.get(f"{API}/variables", params={"colour": "red"}), 400, "colour")


def test_unknown_path_is_404_problem(client):
    assert_problem(client.get(f"{API}/nothing-here"), 404)


@pytest.mark.parametrize("method, path", BODY_OPERATIONS)
def test_wrong_content_type_is_415(client, method, path):
    response = client.request(method, path, content=b"key=value",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415, "application/json")


@pytest.mark.parametrize("method, path", BODY_OPERATIONS)
def test_malformed_json_is_400(client, method, path):
    response = client.request(method, path, content=b'{"key": ',
                              headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_body_that_is_not_utf8_is_400(client):
    response = client.post(f"{API}/variables", content=b'{"key": "k", "value": "caf\xe9"}',
                           headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "UTF-8")
    assert client.get(f"{API}/variables/k").status_code == 404


def test_body_of_the_wrong_json_type_is_400(client):
    assert_problem(client.post(f"{API}/variables", json=["key", "value"]), 400)


def test_body_above_the_size_limit_is_413(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__MAX_REQUEST_BODY_SIZE", "100")
    body = VARIABLES.body("big", value="x" * 200)
    assert_problem(client.post(VARIABLES.path, json=body), 413, "100")
    assert client.get(VARIABLES.url("big")).status_code == 404
    assert client.post(VARIABLES.path, json=VARIABLES.body("small", value="x")).status_code == 201


def chunked(raw: bytes):
    """A body sent in pieces, with Transfer-Encoding: chunked instead of Content-Length."""
    yield from (raw[:60], raw[60:120], raw[120:])


def test_chunked_body_is_accepted_and_limited(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__MAX_REQUEST_BODY_SIZE", "100")
    small = json.dumps(VARIABLES.body("small", value="x", description=None)).encode()
    big = json.dumps(VARIABLES.body("big", value="x" * 200)).encode()
    headers = {"Content-Type": "application/json"}
    response = client.post(VARIABLES.path, content=chunked(small), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == json.loads(small)
    assert_problem(client.post(VARIABLES.path, content=chunked(big), headers=headers), 413)
    assert client.get(VARIABLES.url("big")).status_code == 404


# The served contract


def test_swagger_ui_is_served(client):
    response = client.get(f"{API}/ui/", auth=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Swagger UI" in response.text


@pytest.mark.parametrize("name, load", [("openapi.json", json.loads),
                                        ("openapi.yaml", yaml.safe_load)])
def test_the_contract_is_served(client, name, load):
    response = client.get(f"{API}/{name}", auth=None)
    assert response.status_code == 200
    served = load(response.text)
    bundled = spec()
    assert served["info"]["version"] == bundled["info"]["version"]
    # The experimental API's paths name a server of their own; its document is not served.
    assert set(served["paths"]) == set(served_apart(bundled)[0]["paths"])


# Collections and single resources: the same for variables, connections and pools


@pytest.mark.parametrize("res", resource_params())
def test_create_is_201_with_location_and_etag(client, res):
    response = client.post(res.path, json=res.body("item-1.a"))
    assert response.status_code == 201
    assert response.headers["location"] == res.url("item-1.a")
    created = response.json()
    assert created[res.key] == "item-1.a"
    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize("res", resource_params((CONNECTIONS, POOLS)))
def test_create_duplicate_is_409(client, res):
    res.create(client, "twice")
    assert_problem(client.post(res.path, json=res.body("twice")), 409, "'twice'")


def test_posting_an_existing_variable_sets_it_like_airflow(client):
    VARIABLES.create(client, "twice")
    response = client.post(VARIABLES.path, json={"key": "twice", "value": "second"})
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.json() == {"key": "twice", "value": "second", "description": None}
    fetched = client.get(VARIABLES.url("twice"))
    assert fetched.json() == response.json()
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize("res", resource_params())
def test_create_without_a_mandatory_field_is_422(client, res):
    body = res.body("incomplete")
    del body[res.required]
    assert_problem(client.post(res.path, json=body), 422, res.required)
    assert client.get(res.url("incomplete")).status_code == 404


@pytest.mark.parametrize("res", resource_params())
@pytest.mark.parametrize("key", ["has space", "", "x" * 251])
def test_create_with_an_invalid_key_is_400(client, res, key):
    assert_problem(client.post(res.path, json=res.body(key)), 400)


@pytest.mark.parametrize("res", resource_params())
def test_unknown_and_read_only_fields_are_400_naming_them(client, res):
    for field in ("colour", *res.read_only):
        response = client.post(res.path, json=res.body("extra-field", **{field: 1}))
        assert_problem(response, 400, field)
    res.create(client, "extra-field")
    for field in ("colour", *res.read_only):
        response = client.patch(res.url("extra-field"), json={field: 1})
        assert_problem(response, 400, field)


@pytest.mark.parametrize("res", resource_params())
def test_nul_character_in_a_string_is_400(client, res):
    field = "description"
    assert_problem(client.post(res.path, json=res.body("nul", **{field: "a\x00b"})), 400, field)
    res.create(client, "nul")
    assert_problem(client.patch(res.url("nul"), json={field: "a\x00b"}), 400, field)


@pytest.mark.parametrize("res", resource_params())
def test_get_unknown_is_404_naming_it(client, res):
    assert_problem(client.get(res.url("missing")), 404, "'missing'")


@pytest.mark.parametrize("res", resource_params())
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_invalid_key_in_the_path_is_400(client, res, method):
    body = res.change if method == "PATCH" else None
    response = client.request(method, res.url("has%20space"), json=body)
    assert_problem(response, 400, "path parameter")


@pytest.mark.parametrize("res", resource_params())
def test_list_pages_with_limit_offset_and_total_entries(client, res):
    for key in ("a3", "a1", "a5", "a2", "a4"):  # all before default_pool
        res.create(client, key)
    total = 5 + res.extra_items
    page = client.get(res.path, params={"limit": 2, "offset": 1})
    assert page.json()["total_entries"] == total
    assert res.keys(page) == ["a2", "a3"]
    everything = client.get(res.path)
    assert res.keys(everything)[:5] == ["a1", "a2", "a3", "a4", "a5"]
    assert len(res.keys(everything)) == total
    beyond = client.get(res.path, params={"offset": total})
    assert res.keys(beyond) == [] and beyond.json()["total_entries"] == total


@pytest.mark.parametrize("res", resource_params())
def test_list_link_headers_point_to_next_and_previous_pages(client, res):
    for key in ("a", "b", "c", "d", "e", "f"):
        res.create(client, key)
    total = 6 + res.extra_items
    order = f"-{res.key}"

    def page(offset):
        return client.get(res.path, params={"limit": 2, "offset": offset, "order_by": order})

    first = links(page(0))
    assert set(first) == {"next"}
    target = urlsplit(first["next"])
    assert target.path == res.path
    assert parse_qs(target.query) == {"limit": ["2"], "offset": ["2"], "order_by": [order]}
    middle = links(page(3))
    assert parse_qs(urlsplit(middle["next"]).query)["offset"] == ["5"]
    assert parse_qs(urlsplit(middle["prev"]).query)["offset"] == ["1"]
    last = links(page(total - 1))
    assert set(last) == {"prev"}
    # Following `next` from the start visits every item exactly once.
    seen, url = [], f"{res.path}?limit=2&order_by={order}"
    while url:
        response = client.get(url)
        seen += res.keys(response)
        url = links(response).get("next")
    assert len(seen) == total == len(set(seen))
    assert "link" not in client.get(res.path).headers


@pytest.mark.parametrize("res", resource_params())
def test_list_orders_by_the_key_ascending_and_descending(client, res):
    for key in ("b", "c", "a"):
        res.create(client, key)
    ascending = [k for k in res.keys(client.get(res.path, params={"order_by": res.key}))
                 if k in "abc"]
    descending = [k for k in res.keys(client.get(res.path, params={"order_by": f"-{res.key}"}))
                  if k in "abc"]
    assert ascending == ["a", "b", "c"]
    assert descending == ["c", "b", "a"]


@pytest.mark.parametrize("res", resource_params([CONNECTIONS, POOLS]))
def test_list_order_ties_are_broken_by_creation_order(client, res):
    created = ["m", "z", "a", "q"]
    for key in created:
        res.create(client, key, **{res.tie_field: res.sample[res.tie_field]})
    ascending = res.keys(client.get(res.path, params={"order_by": res.tie_field}))
    descending = res.keys(client.get(res.path, params={"order_by": f"-{res.tie_field}"}))
    assert [k for k in ascending if k in created] == created
    assert [k for k in descending if k in created] == created[::-1]


@pytest.mark.parametrize("res", resource_params())
def test_list_rejects_an_unknown_order_field(client, res):
    response = client.get(res.path, params={"order_by": "password"})
    assert_problem(response, 400, "order_by", "'password'", f"'-{res.key}'")
    assert "Failed validating" not in response.json()["detail"]


@pytest.mark.parametrize("res", resource_params())
def test_list_limit_above_the_maximum_is_400_saying_the_maximum(client, res):
    assert_problem(client.get(res.path, params={"limit": 101}), 400, "'limit'", "maximum of 100")
    assert client.get(res.path, params={"limit": 100}).status_code == 200


def test_the_configured_maximum_page_limit_is_in_the_served_contract_and_enforced(
        migrated, monkeypatch):
    from windsock.app import create_app

    monkeypatch.setenv("WINDSOCK__API__MAXIMUM_PAGE_LIMIT", "3")
    with create_app().test_client() as configured:
        configured.auth = ADMIN
        served = configured.get(f"{API}/openapi.json").json()
        components = served["components"]
        bounds = [components["parameters"]["PageLimit"]["schema"],
                  *(components["schemas"][form]["properties"]["page_limit"]
                    for form in ("ListDagRunsForm", "ListTaskInstanceForm"))]
        assert [(b["maximum"], b["default"]) for b in bounds] == [(3, 3)] * 3
        for key in "abcd":
            VARIABLES.create(configured, key)
        page = configured.get(VARIABLES.path)
        assert len(page.json()["variables"]) == 3 and page.json()["total_entries"] == 4
        assert_problem(configured.get(VARIABLES.path, params={"limit": 4}), 400, "maximum of 3")
        assert_problem(configured.post(f"{API}/dags/~/dagRuns/list", json={"page_limit": 4}),
                       400, "'page_limit'", "maximum of 3")


@pytest.mark.parametrize("res", resource_params())
@pytest.mark.parametrize("params", [{"limit": 0}, {"offset": -1}, {"limit": "many"}])
def test_list_rejects_invalid_paging(client, res, params):
    assert_problem(client.get(res.path, params=params), 400)


@pytest.mark.parametrize("res", resource_params())
def test_if_none_match_gives_304_while_the_etag_matches(client, res):
    res.create(client, "cached")
    etag = client.get(res.url("cached")).headers["etag"]
    for header in (etag, f'W/"0000", {etag}', "*"):
        response = client.get(res.url("cached"), headers={"If-None-Match": header})
        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag
    stale = client.get(res.url("cached"), headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag
    client.patch(res.url("cached"), json=res.change)
    changed = client.get(res.url("cached"), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


@pytest.mark.parametrize("res", resource_params())
def test_patch_without_update_mask_applies_every_field_in_the_body(client, res):
    res.create(client, "patched")
    response = client.patch(res.url("patched"), json=res.change)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in res.change} == res.change
    fetched = client.get(res.url("patched"))
    assert fetched.json() == body
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize("res", resource_params())
def test_patch_with_update_mask_applies_only_the_named_fields(client, res):
    before = res.create(client, "masked")
    applied, ignored = list(res.change)
    response = client.patch(res.url("masked"), params={"update_mask": applied}, json=res.change)
    assert response.status_code == 200
    after = client.get(res.url("masked")).json()
    assert after[applied] == res.change[applied]
    assert after[ignored] == before[ignored] != res.change[ignored]


@pytest.mark.parametrize("res", resource_params())
def test_update_mask_naming_a_field_missing_from_the_body_is_400(client, res):
    before = res.create(client, "masked")
    applied, missing = list(res.change)
    response = client.patch(res.url("masked"), params={"update_mask": f"{applied},{missing}"},
                            json={applied: res.change[applied]})
    assert_problem(response, 400, missing)
    assert client.get(res.url("masked")).json() == before


@pytest.mark.parametrize("res", resource_params())
def test_update_mask_naming_an_unknown_field_is_400(client, res):
    res.create(client, "masked")
    response = client.patch(res.url("masked"), params={"update_mask": "colour"},
                            json={"colour": "red"})
    assert_problem(response, 400)


@pytest.mark.parametrize("res", resource_params())
def test_patch_unknown_is_404(client, res):
    assert_problem(client.patch(res.url("missing"), json=res.change), 404, "'missing'")


@pytest.mark.parametrize("res", resource_params())
def test_if_match_guards_patch_and_delete(client, res):
    before = res.create(client, "guarded")
    etag = client.get(res.url("guarded")).headers["etag"]
    stale = {"If-Match": '"0000"'}
    for refused in (client.patch(res.url("guarded"), json=res.change, headers=stale),
                    client.delete(res.url("guarded"), headers=stale)):
        assert_problem(refused, 412)
        assert refused.headers["etag"] == etag  # the current one, to retry with
    assert client.get(res.url("guarded")).json() == before
    patched = client.patch(res.url("guarded"), json=res.change, headers={"If-Match": etag})
    assert patched.status_code == 200
    # The old ETag no longer matches the changed resource; the 412 says which one does.
    refused = client.delete(res.url("guarded"), headers={"If-Match": etag})
    assert_problem(refused, 412)
    current = patched.headers["etag"]
    assert refused.headers["etag"] == current
    assert client.delete(res.url("guarded"), headers={"If-Match": current}).status_code == 204


@pytest.mark.parametrize("res", resource_params())
def test_delete_is_204_then_404(client, res):
    res.create(client, "doomed")
    response = client.delete(res.url("doomed"))
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(client.get(res.url("doomed")), 404)
    assert_problem(client.delete(res.url("doomed")), 404)
    assert "doomed" not in res.keys(client.get(res.path))


@pytest.mark.parametrize("res", resource_params([VARIABLES, CONNECTIONS]))
def test_patch_cannot_change_the_key(client, res):
    before = res.create(client, "fixed")
    assert_problem(client.patch(res.url("fixed"), json={res.key: "other"}), 400, res.key)
    assert client.get(res.url("fixed")).json() == before
    assert client.get(res.url("other")).status_code == 404
    # Repeating the key unchanged is allowed.
    response = client.patch(res.url("fixed"), json={res.key: "fixed", **res.change})
    assert response.status_code == 200


# Users and roles do not fit the shared tests above (unique emails, usernames up to 256
# characters, role names with spaces, the built-in roles in every list); test_users.py and
# test_roles.py cover the same conventions for them.
TESTED_IN_THEIR_OWN_MODULE = {"users", "roles", "backfills"}  # test_backfills.py: no PATCH or DELETE


def test_resources_cover_every_keyed_collection():
    """Every collection whose items are created by POST and addressed by key below it (as
    /pools and /pools/{pool_name}) is among the RESOURCES tested above, or has its own module."""
    paths = spec()["paths"]
    creatable = {path.split("/")[1] for path in paths if path.count("/") == 2
                 and path.endswith("}") and "post" in paths.get(path.rsplit("/", 1)[0], {})}
    assert creatable == {r.plural for r in RESOURCES} | TESTED_IN_THEIR_OWN_MODULE
