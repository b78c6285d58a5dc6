"""The documentation the server serves: the API reference at /api/v1/docs, with a policy that
allows its own inline scripts only, and the error catalogue every problem `type` points into."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from windsock.api import problems
from windsock.api.reference import INLINE_SCRIPT

from tests.api.helpers import API, assert_problem


def test_the_reference_is_served_without_credentials(client):
    response = client.get(f"{API}/docs", auth=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Windsock API</title>" in response.text
    # The renderer is inside the page: no script or stylesheet is fetched from elsewhere.
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', response.text)
    policy = response.headers["content-security-policy"]
    scripts = [s for s in INLINE_SCRIPT.findall(response.text) if s.strip()]
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_error_catalogue_keeps_the_strict_policy(client):
    response = client.get(f"{API}/docs/errors", auth=None)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script" not in response.text


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 406, 409, 412, 413, 414, 415, 422,
                                    429, 431, 500, 503])
def test_every_problem_type_resolves_to_a_section(client, status):
    kind = problems.type_of(problems.title_of(status))
    page, _, anchor = kind.partition("#")
    response = client.get(page, auth=None)
    assert response.status_code == 200
    assert re.search(rf'<h2 id="{re.escape(anchor)}">', response.text), kind


def test_a_problem_links_to_its_section(client):
    body = assert_problem(client.get(f"{API}/variables/missing"), 404)
    assert body["type"] == "/api/v1/docs/errors#not-found"
    assert 'id="not-found"' in client.get(body["type"], auth=None).text
    assert 'id="dag-has-import-errors"' in client.get(f"{API}/docs/errors").text


def test_the_pages_are_read_only(client):
    assert_problem(client.post(f"{API}/docs"), 404)
