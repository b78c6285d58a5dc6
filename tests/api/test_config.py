"""Config: GET /config and GET /config/section/{section}/option/{option}."""

import pytest

from tests.api.helpers import API, assert_problem

CONFIG = f"{API}/config"


def option_url(section: str, option: str) -> str:
    return f"{CONFIG}/section/{section}/option/{option}"


@pytest.fixture
def exposed(enable):
    enable("expose_config")


@pytest.mark.parametrize("url", [CONFIG, option_url("api", "maximum_page_limit")])
def test_config_is_forbidden_by_default_and_says_how_to_enable_it(client, url):
    assert_problem(client.get(url), 403, "expose_config")


def test_config_as_json_has_every_section_with_effective_values(client, exposed, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__MAXIMUM_PAGE_LIMIT", "37")
    response = client.get(CONFIG)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    sections = {s["name"]: {o["key"]: o["value"] for o in s["options"]}
                for s in response.json()["sections"]}
    assert {"core", "database", "api"} <= set(sections)
    assert sections["api"]["maximum_page_limit"] == "37"
    assert sections["api"]["expose_config"] == "True"


def test_config_masks_secrets(client, exposed):
    for response in (client.get(CONFIG, params={"section": "database"}),
                     client.get(option_url("database", "sql_alchemy_conn"))):
        options = response.json()["sections"][0]["options"]
        assert {"key": "sql_alchemy_conn", "value": "< hidden >"} in options
    text = client.get(CONFIG, headers={"Accept": "text/plain"}).text
    assert "sql_alchemy_conn = < hidden >" in text
    assert "sqlite:" not in text and "postgresql" not in text


def test_config_as_text_is_in_the_config_file_format(client, exposed):
    response = client.get(CONFIG, params={"section": "api"}, headers={"Accept": "text/plain"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines[0] == "[api]"
    assert "maximum_page_limit = 100" in lines
    assert "[database]" not in lines


def test_config_prefers_the_accepted_type_with_the_highest_quality(client, exposed):
    response = client.get(CONFIG, headers={"Accept": "application/json;q=0.5, text/plain"})
    assert response.headers["content-type"].startswith("text/plain")
    response = client.get(CONFIG, headers={"Accept": "*/*"})
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("url", [CONFIG, option_url("api", "maximum_page_limit")])
def test_config_is_406_for_an_unsupported_accept(client, exposed, url):
    assert_problem(client.get(url, headers={"Accept": "image/png"}), 406, "text/plain")


def test_config_section_filter(client, exposed):
    response = client.get(CONFIG, params={"section": "api"})
    assert response.status_code == 200
    [section] = response.json()["sections"]
    assert section["name"] == "api"
    assert {"key": "maximum_page_limit", "value": "100"} in section["options"]


def test_config_unknown_section_is_404(client, exposed):
    assert_problem(client.get(CONFIG, params={"section": "nope"}), 404, "'nope'")


def test_get_value(client, exposed, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__PORT", "9090")
    response = client.get(option_url("api", "port"))
    assert response.status_code == 200
    assert response.json() == {"sections": [{"name": "api",
                                             "options": [{"key": "port", "value": "9090"}]}]}
    text = client.get(option_url("api", "port"), headers={"Accept": "text/plain"})
    assert text.text.splitlines() == ["[api]", "port = 9090"]


@pytest.mark.parametrize("section, option", [("api", "nope"), ("nope", "port")])
def test_get_value_unknown_is_404(client, exposed, section, option):
    assert_problem(client.get(option_url(section, option)), 404, option)


def test_config_section_filter_too_long_is_400(client, exposed):
    assert_problem(client.get(CONFIG, params={"section": "x" * 251}), 400, "section")
