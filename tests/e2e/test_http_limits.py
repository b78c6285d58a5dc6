"""Request heads over the `[api]` limits, sent to a real `windsock api-server` over raw sockets:
its HTTP protocol refuses them as they arrive, with problem documents (uvicorn alone read a 4 MB
header field or 20,000 fields whole and passed them on, and answered a target over 64 KiB, or
any request it could not parse, with a plain-text 400). Default limits: a target of 8192 bytes,
100 header fields, 65536 bytes of header names and values."""

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

HEALTH = "/api/v1/health"
TYPE_BASE = "/api/v1/docs/errors#"


def exchange(base: str, head: bytes) -> http.client.HTTPResponse:
    """Send `head` (a request line and header fields) and read the answer, as a client that
    sends its whole request before it reads."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head + b"\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.body = response.read()
        return response


def request(target: bytes = HEALTH.encode(), fields: list[bytes] = ()) -> bytes:
    return b"".join([b"GET ", target, b" HTTP/1.1\r\nHost: windsock\r\n",
                     *(field + b"\r\n" for field in fields)])


def assert_refused(response, status: int, slug: str, instance, *words: str) -> None:
    assert response.status == status, response.body[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["connection"] == "close"
    problem = json.loads(response.body)
    assert problem["type"] == TYPE_BASE + slug
    assert problem["status"] == status
    assert problem["instance"] == instance
    for word in words:
        assert word in problem["detail"], problem["detail"]


def query_of_target_length(length: int) -> bytes:
    return HEALTH.encode() + b"?x=" + b"a" * (length - len(HEALTH) - 3)


def test_a_target_at_the_limit_reaches_the_api(live_server):
    # The API then refuses the unknown query parameter, as it would any.
    response = exchange(live_server, request(query_of_target_length(8192)))
    assert response.status == 400
    assert "x" in json.loads(response.body)["detail"]


@pytest.mark.parametrize("target, instance", [
    (query_of_target_length(8193), HEALTH),
    (query_of_target_length(100_000), HEALTH),  # past what httptools can parse at all
    (b"/api/v1/" + b"a" * 1_000_000, None),  # the path itself is what is too long
], ids=["one-byte-over", "100-kB", "1-MB-path"])
def test_a_longer_target_is_414(live_server, target, instance):
    assert_refused(exchange(live_server, request(target)), 414, "uri-too-long", instance,
                   "8192", "max_url_length")


@pytest.mark.parametrize("fields, words", [
    ([b"X-Field-%d: v" % n for n in range(100)], ["100 header fields", "max_header_count"]),
    ([b"X-Field-%d: v" % n for n in range(20_000)], ["max_header_count"]),
    ([b"X-Big: " + b"v" * 70_000], ["65536 bytes", "max_header_size"]),
    ([b"X-Big: " + b"v" * 4_000_000], ["max_header_size"]),
], ids=["101-fields", "20000-fields", "70-kB-field", "4-MB-field"])
def test_too_many_or_too_large_header_fields_are_431(live_server, fields, words):
    response = exchange(live_server, request(fields=fields))  # Host makes one field more
    assert_refused(response, 431, "request-header-fields-too-large", HEALTH, *words)


def test_header_fields_within_the_limits_pass(live_server):
    fields = [b"X-Field-%d: %s" % (n, b"v" * 600) for n in range(99)]
    response = exchange(live_server, request(fields=fields))
    assert response.status == 200, response.body[:300]


def test_a_request_that_is_not_http_is_a_400_problem(live_server):
    response = exchange(live_server, b"GET / HTTP/1.1\r\nHost windsock\r\n")
    assert_refused(response, 400, "bad-request", None, "HTTP")


def test_the_server_serves_on_after_refusals(live_server):
    for _ in range(3):
        exchange(live_server, request(fields=[b"X-Big: " + b"v" * 4_000_000]))
    assert exchange(live_server, request()).status == 200
