"""HTTP hardening, in-process: the request-head limits of the middleware, JSON bodies that nest
too deep or hold numbers the API cannot keep, the headers on every answer, the Swagger UI page's
Content-Security-Policy and CORS. (The same head limits in the real server's HTTP protocol are
tested in tests/e2e/test_http_limits.py.)"""

import re
from urllib.parse import urljoin

import pytest

from tests.api.helpers import API, VARIABLES, assert_problem

UI = f"{API}/ui/"
ORIGIN = "https://console.example.com"


# Request-head limits (the middleware that keeps them under any ASGI server)


@pytest.fixture
def small_head(monkeypatch):
    for option, value in (("max_url_length", "60"), ("max_header_size", "300"),
                          ("max_header_count", "10")):
        monkeypatch.setenv(f"WINDSOCK__API__{option.upper()}", value)


def test_a_target_at_the_limit_passes_and_one_byte_more_is_414(client, small_head):
    path = f"{API}/variables?limit=1&offset="
    at_limit = path + "0" * (60 - len(path))
    assert client.get(at_limit).status_code == 200
    assert_problem(client.get(at_limit + "0"), 414, "60", "max_url_length")


@pytest.mark.parametrize("headers, option", [
    ({f"X-Field-{n}": "v" for n in range(10)}, "max_header_count"),
    ({"X-Big": "v" * 300}, "max_header_size"),
], ids=["count", "size"])
def test_too_many_or_too_large_header_fields_are_431(client, small_head, headers, option):
    assert_problem(client.get(f"{API}/variables", headers=headers), 431, option)


# JSON bodies

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("body, words", [
    (b"[" * 100_000 + b"]" * 100_000, ["64 levels", "max_json_depth"]),
    (b'{"key": "k", "value": "v", "description": ' + b"[" * 1000 + b"]" * 1000 + b"}",
     ["max_json_depth"]),
    (b'{"key": "k", "value": 1e999}', ["too large", "1e999"]),
    (b'{"key": "k", "value": -1e999}', ["too large"]),
    (b'{"key": "k", "value": NaN}', ["NaN"]),
    (b'{"key": "k", "value": Infinity}', ["Infinity"]),
    (b'{"key": "k", "value": 9223372036854775808}', ["19 digits", "64-bit"]),
    (b'{"key": "k", "value": ' + b"9" * 5000 + b"}", ["5000 digits"]),
], ids=["deep-array", "deep-field", "huge-float", "huge-negative-float", "nan", "infinity",
        "int64-overflow", "5000-digit-int"])
def test_bodies_the_api_cannot_keep_are_400_not_500(client, body, words):
    assert_problem(client.post(VARIABLES.path, content=body, headers=JSON), 400, *words)
    assert client.get(VARIABLES.url("k")).status_code == 404


def test_nesting_at_the_depth_limit_reaches_validation(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__MAX_JSON_DEPTH", "2")
    at_limit = client.post(VARIABLES.path, json={"key": "k", "value": "v", "description": ["x"]})
    assert "max_json_depth" not in assert_problem(at_limit, 400, "description")["detail"]
    deeper = client.post(VARIABLES.path, json={"key": "k", "value": "v", "description": [["x"]]})
    assert_problem(deeper, 400, "max_json_depth")


def test_brackets_and_escaped_quotes_inside_strings_do_not_nest(client):
    value = '\\"' + "[{" * 200
    response = client.post(VARIABLES.path, json={"key": "k", "value": value})
    assert response.status_code == 201, response.text
    assert client.get(VARIABLES.url("k")).json()["value"] == value


def test_the_largest_64_bit_integer_is_a_number_like_any_other(client):
    # Accepted by the parser; the schema then says what is wrong with it (not a string).
    response = client.post(VARIABLES.path, content=b'{"key": "k", "value": 9223372036854775807}',
                           headers=JSON)
    assert "64-bit" not in assert_problem(response, 400, "9223372036854775807")["detail"]


# Headers on every answer


@pytest.mark.parametrize("method, path, auth, status", [
    ("GET", f"{API}/version", True, 200),
    ("GET", f"{API}/health", False, 200),
    ("GET", f"{API}/variables", False, 401),
    ("GET", f"{API}/variables/missing", True, 404),
    ("DELETE", f"{API}/version", True, 405),
    ("GET", f"{API}/openapi.json", False, 200),
])
def test_every_api_answer_is_nosniff_and_no_store(client, method, path, auth, status):
    response = client.request(method, path, auth=client.auth if auth else None)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "content-security-policy" not in response.headers  # not HTML


def test_an_operation_keeps_its_own_cache_control(client):
    response = client.post(f"{API}/auth/token")
    assert response.status_code == 200, response.text
    assert response.headers.get_list("cache-control") == ["no-store"]


def csp(response) -> dict[str, list[str]]:
    directives = (d.split() for d in response.headers["content-security-policy"].split(";"))
    return {name: sources for name, *sources in directives}


def test_the_swagger_ui_page_has_a_strict_policy_and_no_inline_code(client):
    page = client.get(UI, auth=None)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    policy = csp(page)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == ["'self'"], directive
    html = page.text
    assert re.findall(r"<script\b[^>]*>", html)
    assert all(" src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert not re.search(r"<style\b|\sstyle=|\son\w+=|javascript:", html)


def test_every_file_the_swagger_ui_page_loads_is_served_from_its_origin(client):
    html = client.get(UI, auth=None).text
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    expected = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    assert {ref.rsplit(".", 1)[-1] for ref in references} == {"js", "css", "png"}
    for ref in references:
        assert "://" not in ref and not ref.startswith("//"), ref  # same origin
        response = client.get(urljoin(UI, ref), auth=None)
        assert response.status_code == 200, ref
        assert response.headers["content-type"].startswith(expected["." + ref.rsplit(".", 1)[-1]])
        # Public files, the same for everyone: left cacheable.
        assert "cache-control" not in response.headers, ref
    start = client.get(urljoin(UI, "windsock-ui.js"), auth=None).text
    (spec_url,) = re.findall(r'url: "([^"]+)"', start)
    spec = client.get(urljoin(UI, spec_url), auth=None)
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")


def test_the_swagger_ui_index_path_serves_the_same_page(client):
    assert client.get(UI + "index.html", auth=None).text == client.get(UI, auth=None).text


# CORS


def preflight(client, origin=ORIGIN, method="PATCH"):
    return client.options(f"{API}/variables/x", auth=None, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type"})


def listed(response, header: str) -> set[str]:
    """The items of a comma-separated header, lower-cased."""
    return {v.strip().lower() for v in response.headers.get(header, "").split(",") if v.strip()}


def test_cors_is_off_by_default(client):
    assert_problem(preflight(client), 405)
    for response in (preflight(client), client.get(f"{API}/version", headers={"Origin": ORIGIN})):
        assert not any(name.startswith("access-control-") for name in response.headers)
        assert "origin" not in listed(response, "vary")


@pytest.fixture
def cors(monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__ACCESS_CONTROL_ALLOW_ORIGINS",
                       f"{ORIGIN} https://other.example.com")


def test_a_preflight_from_an_allowed_origin_is_answered_without_credentials(client, cors):
    response = preflight(client)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= listed(
        response, "access-control-allow-headers")
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in listed(response, "vary")


def test_the_configured_methods_and_headers_are_the_ones_allowed(client, cors, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__ACCESS_CONTROL_ALLOW_METHODS", "GET")
    monkeypatch.setenv("WINDSOCK__API__ACCESS_CONTROL_ALLOW_HEADERS", "Authorization")
    response = preflight(client)
    assert response.headers["access-control-allow-methods"] == "GET"
    assert response.headers["access-control-allow-headers"] == "Authorization"


def test_a_preflight_from_another_origin_gets_no_cors_answer(client, cors):
    response = preflight(client, origin="https://evil.example.net")
    assert_problem(response, 405)
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in listed(response, "vary")


@pytest.mark.parametrize("auth, status", [(True, 200), (False, 401)], ids=["ok", "error"])
def test_answers_to_an_allowed_origin_may_be_read_by_it(client, cors, auth, status):
    response = client.get(f"{API}/variables", headers={"Origin": ORIGIN},
                          auth=client.auth if auth else None)
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "etag" in listed(response, "access-control-expose-headers")
    assert "origin" in listed(response, "vary")
    assert "access-control-allow-credentials" not in response.headers


def test_answers_to_other_origins_carry_no_allow_origin(client, cors):
    response = client.get(f"{API}/version", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_wildcard_allows_every_origin(client, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__ACCESS_CONTROL_ALLOW_ORIGINS", "*")
    response = preflight(client, origin="https://anywhere.example.org")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
