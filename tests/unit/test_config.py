"""Configuration precedence: environment over file over default; typed reads; masking."""

import os
import re
import time

import pytest

from windsock import config


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WINDSOCK_HOME", str(tmp_path))
    for key in [k for k in __import__("os").environ if k.startswith(config.ENV_PREFIX)]:
        monkeypatch.delenv(key)
    return tmp_path


def test_first_use_writes_a_documented_file_with_every_option(home):
    path = config.ensure_config_file()
    text = path.read_text()
    for opt in config.OPTIONS:
        assert f"{opt.key} = {opt.default}" in text
        assert f"# {opt.doc}" in text


def test_the_file_names_each_section_once(home):
    import configparser

    configparser.ConfigParser(interpolation=None).read_string(
        config.ensure_config_file().read_text())  # DuplicateSectionError otherwise


def test_defaults_expand_windsock_home(home):
    assert config.get("database", "sql_alchemy_conn") == f"sqlite:///{home}/windsock.db"


def test_file_value_beats_default_and_environment_beats_file(home, monkeypatch):
    path = config.ensure_config_file()
    path.write_text(path.read_text().replace("maximum_page_limit = 100", "maximum_page_limit = 7"))
    assert config.get_int("api", "maximum_page_limit") == 7
    monkeypatch.setenv("WINDSOCK__API__MAXIMUM_PAGE_LIMIT", "9")
    assert config.get_int("api", "maximum_page_limit") == 9


@pytest.mark.parametrize("text, expected", [("True", True), ("yes", True), ("0", False),
                                            ("off", False)])
def test_booleans(home, monkeypatch, text, expected):
    monkeypatch.setenv("WINDSOCK__API__EXPOSE_CONFIG", text)
    assert config.get_bool("api", "expose_config") is expected


def test_bad_values_and_unknown_options_raise_config_error(home, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__EXPOSE_CONFIG", "maybe")
    with pytest.raises(config.ConfigError, match="True or False"):
        config.get_bool("api", "expose_config")
    monkeypatch.setenv("WINDSOCK__API__PORT", "eighty")
    with pytest.raises(config.ConfigError, match="whole number"):
        config.get_int("api", "port")
    with pytest.raises(config.ConfigError, match="Unknown option"):
        config.get("api", "nope")


def test_effective_masks_secrets_and_renders_ini(home):
    sections = dict(config.effective())
    assert dict(sections["database"])["sql_alchemy_conn"] == config.MASK
    assert config.effective("nope") == []
    ini = config.as_ini(config.effective("api"))
    assert ini.startswith("[api]\n") and "maximum_page_limit = 100\n" in ini



def _set_page_limit(path, value: int) -> None:
    """Write the option's new value, with a modification time of its own."""
    path.write_text(re.sub(r"(?m)^maximum_page_limit = .*$", f"maximum_page_limit = {value}",
                           path.read_text()))
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + value * 1_000_000))


def test_within_the_check_interval_the_file_is_not_looked_at_again(home, monkeypatch):
    monkeypatch.setattr(config, "FILE_CHECK_SECONDS", 3600)
    path = config.ensure_config_file()
    _set_page_limit(path, 7)
    assert config.get_int("api", "maximum_page_limit") == 7
    _set_page_limit(path, 8)
    assert config.get_int("api", "maximum_page_limit") == 7


def test_a_changed_file_is_read_again_once_the_check_interval_passed(home, monkeypatch):
    monkeypatch.setattr(config, "FILE_CHECK_SECONDS", 0)
    path = config.ensure_config_file()
    _set_page_limit(path, 7)
    assert config.get_int("api", "maximum_page_limit") == 7
    _set_page_limit(path, 8)
    assert config.get_int("api", "maximum_page_limit") == 8
