"""Configuration: documented defaults, the config file in WINDSOCK_HOME, environment overrides.

Every option is declared once in OPTIONS with its default and its documentation. The effective
value of `[section] key` is, in order of precedence: the environment variable
`WINDSOCK__<SECTION>__<KEY>`, the config file `$WINDSOCK_HOME/windsock.cfg`, the default.

Options are read on every use (many on every request), so the file is parsed once and looked at
again (its modification time) at most every FILE_CHECK_SECONDS: a change to it takes effect
within that time, in every process.
"""

from __future__ import annotations

import configparser
import io
import os
import socket
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ENV_PREFIX = "WINDSOCK__"
CONFIG_FILE_NAME = "windsock.cfg"
MASK = "< hidden >"
FILE_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Option:
    section: str
    key: str
    default: str
    doc: str
    secret: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("core", "dags_folder", "{WINDSOCK_HOME}/dags", "Folder holding the DAG files."),
    Option("core", "plugins_folder", "{WINDSOCK_HOME}/plugins",
           "Folder whose Python files are searched for plugins (WindsockPlugin subclasses)."),
    Option("core", "load_examples", "False",
           "Whether the example DAGs shipped with Windsock are loaded besides the DAGs folder."),
    Option("core", "dags_are_paused_at_creation", "True",
           "Whether a DAG seen for the first time starts paused (a DAG can override it)."),
    Option("core", "parallelism", "32",
           "Most task instances queued or running at once, over every DAG and pool."),
    Option("core", "max_map_length", "1024",
           "Most task instances one mapped task may expand into in a run; a longer expansion "
           "fails the task (or, over literal lists, is an import error of its DAG file)."),
    Option("core", "executor", "local",
           "How task instances are run: `local` (or LocalExecutor) in warm worker processes "
           "forked from the scheduler, `celery` (or CeleryExecutor) by `windsock celery worker` "
           "processes on any machine, through the [celery] broker. Case does not matter."),
    Option("core", "hostname", "",
           "Name or address of this machine as the others reach it, recorded as the hostname "
           "of the task instances run here and used by the API servers to read their logs "
           "from this worker. Empty: the machine's fully qualified domain name."),
    Option("dag_processor", "file_parsing_timeout", "50",
           "Seconds a DAG file may take to import before it is stopped and an import error."),
    Option("dag_processor", "refresh_interval", "30",
           "Seconds between two scans of the DAGs folder by `windsock dag-processor`."),
    Option("scheduler", "loop_interval", "1",
           "Seconds between two rounds of the scheduler."),
    Option("scheduler", "health_check_threshold", "30",
           "Seconds after its last heartbeat a scheduler still counts as healthy in GET /health."),
    Option("scheduler", "task_heartbeat_interval", "2",
           "Seconds between two heartbeats of a running task instance."),
    Option("scheduler", "task_queued_timeout", "300",
           "Seconds a task instance may stay queued before it is queued again (its task runner "
           "never started)."),
    Option("scheduler", "task_heartbeat_timeout", "30",
           "Seconds without a heartbeat after which a running task instance is taken as dead "
           "(failed, or up for retry when it has tries left)."),
    Option("logging", "base_log_folder", "{WINDSOCK_HOME}/logs",
           "Folder of the task logs, one file per task instance try."),
    Option("logging", "worker_log_server_port", "8793",
           "Port on which each Celery worker serves its task logs to the API servers (and the "
           "port the API servers read them from)."),
    Option("logging", "worker_log_server_host", "0.0.0.0",
           "Address the worker log server of `windsock celery worker` listens on."),
    Option("logging", "worker_log_fetch_timeout", "5",
           "Seconds an API server waits for a worker's log server before it answers 503."),
    Option("celery", "broker_url", "redis://127.0.0.1:6379/0",
           "URL of the Celery broker that carries task instances from the schedulers to the "
           "workers ([core] executor = celery): redis://[:password@]host:port/db, or "
           "amqp://user:password@host:5672/vhost for RabbitMQ.", secret=True),
    Option("celery", "operation_timeout", "1.0",
           "Seconds a scheduler waits for the broker when sending a task instance; a send that "
           "fails is tried again at the next scheduler round."),
    Option("celery", "worker_concurrency", "16",
           "Task instances a `windsock celery worker` runs at once (its prefork processes), "
           "unless --concurrency says otherwise."),
    Option("database", "sql_alchemy_conn", "sqlite:///{WINDSOCK_HOME}/windsock.db",
           "SQLAlchemy URL of the metadata database, e.g. postgresql+psycopg://user:pass@host/db.",
           secret=True),
    Option("database", "pool_size", "5", "Connections kept open per server process (PostgreSQL)."),
    Option("database", "wait_timeout", "5",
           "Seconds an API request waits for the database (a pooled connection, SQLite's write "
           "lock, a PostgreSQL row lock) before it is answered 503 with Retry-After."),
    Option("api", "host", "127.0.0.1", "Address the API server listens on."),
    Option("api", "port", "8080", "Port the API server listens on."),
    Option("api", "workers", "1", "Number of API server worker processes."),
    Option("api", "health_cache_seconds", "1",
           "Seconds an answer of GET /health is reused by an API worker (one database probe "
           "then serves every health check in that time); 0 probes for every request."),
    Option("api", "base_url", "", "Public base URL of the server, used in printed links."),
    Option("api", "maximum_page_limit", "100",
           "Largest `limit` (`page_limit` in the list forms) a list request may ask for; larger "
           "values are rejected with 400. The contract the server serves (/api/v1/openapi.json) "
           "states it as their maximum, read when the server starts."),
    Option("api", "max_request_body_size", "1048576",
           "Largest request body in bytes; larger bodies are rejected with 413."),
    Option("api", "max_url_length", "8192",
           "Longest request target (path and query string) in bytes; longer ones are answered "
           "414. At most 65535, the longest the HTTP parser reads."),
    Option("api", "max_header_size", "65536",
           "Most bytes of request header names and values together; more is answered 431."),
    Option("api", "max_header_count", "100",
           "Most header fields in a request; more are answered 431."),
    Option("api", "max_json_depth", "64",
           "Deepest nesting of arrays and objects in a JSON request body; deeper is answered 400."),
    Option("api", "idempotency_key_ttl", "86400",
           "Seconds the answer to a create request with an Idempotency-Key header is kept: a "
           "retry with the same key within that time gets the same answer, a later one is a new "
           "request."),
    Option("api", "access_control_allow_origins", "",
           "Origins (scheme://host[:port], separated by spaces or commas, or *) whose browser "
           "code may call the API (CORS). Empty: cross-origin calls are not allowed."),
    Option("api", "access_control_allow_methods", "GET, HEAD, POST, PATCH, DELETE",
           "Methods a CORS preflight allows to the origins of "
           "[api] access_control_allow_origins."),
    Option("api", "access_control_allow_headers",
           "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-CSRF-Token",
           "Request headers a CORS preflight allows to the origins of "
           "[api] access_control_allow_origins."),
    Option("api", "expose_config", "False",
           "Whether GET /config may show the configuration (secrets stay masked)."),
    Option("api", "enable_connection_test", "False",
           "Whether POST /connections/test may contact the hosts of connections."),
    Option("api", "enable_experimental_api", "False",
           "Whether Airflow 2's deprecated experimental API is served below /api/experimental "
           "(for scripts still calling it; GET /health counts their calls)."),
    Option("api", "experimental_api_sunset", "2027-06-30",
           "Date (YYYY-MM-DD, UTC) after which the experimental API may stop answering, sent in "
           "its answers' Sunset header."),
    Option("api", "auth_backends", "basic,session,bearer",
           "Authentication backends tried in order: basic, session, bearer, kerberos, deny_all, "
           "or the dotted path of your own backend module."),
    Option("api", "secret_key", "",
           "Key that signs access tokens. Empty: a random key kept in "
           "{WINDSOCK_HOME}/secret_key, created on first use.", secret=True),
    Option("api", "access_token_expiry", "3600",
           "Seconds an access token from POST /auth/token stays valid."),
    Option("api", "session_expiry", "43200",
           "Seconds a login session (cookie) stays valid."),
    Option("api", "session_cookie_secure", "False",
           "Whether the session cookie is marked Secure (sent over HTTPS only)."),
    Option("api", "auth_failure_limit", "5",
           "Failed password checks per user and client address within "
           "[api] auth_failure_window after which further attempts are answered 429."),
    Option("api", "auth_failure_window", "300",
           "Seconds over which failed password checks are counted."),
    Option("api", "auth_cache_seconds", "60",
           "How long a successful password check is remembered, so requests skip the KDF."),
    Option("api", "log_page_bytes", "65536",
           "Most bytes of a task log returned by one request; the rest is paged with a token."),
    Option("api", "wait_poll_interval", "1.0",
           "Seconds between two looks of an API process at the states of the DAG runs its "
           "requests wait for (GET .../dagRuns/{dag_run_id}/wait): one query for all of them."),
    Option("kerberos", "keytab", "",
           "Keytab holding the keys of the server's service principal, for the `kerberos` auth "
           "backend; empty uses KRB5_KTNAME or the system default keytab."),
    Option("kerberos", "service_principal", "",
           "Service principal the `kerberos` auth backend accepts tickets for, e.g. "
           "HTTP/host.example.com@EXAMPLE.COM; empty accepts any principal in the keytab."),
)

_BY_NAME = {(o.section, o.key): o for o in OPTIONS}
_ENV_NAMES = {(o.section, o.key): f"{ENV_PREFIX}{o.section.upper()}__{o.key.upper()}"
              for o in OPTIONS}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(LookupError):
    """An option is unknown or its value cannot be read as the type asked for."""


def home() -> Path:
    return _home(os.environ.get("WINDSOCK_HOME", "~/windsock"))


@cache
def _home(setting: str) -> Path:
    return Path(setting).expanduser()


def config_file() -> Path:
    return _config_file(home())


@cache
def _config_file(home_path: Path) -> Path:
    return home_path / CONFIG_FILE_NAME


def default_file_text() -> str:
    """The config file as first written: every option, commented with its documentation."""
    out = io.StringIO()
    out.write("# Windsock configuration. Each option can also be set by the environment variable\n"
              "# WINDSOCK__<SECTION>__<KEY>, which wins over this file.\n")
    section = None
    for opt in OPTIONS:
        if opt.section != section:
            section = opt.section
            out.write(f"\n[{section}]\n")
        out.write(f"# {opt.doc}\n{opt.key} = {opt.default}\n")
    return out.getvalue()


def ensure_config_file() -> Path:
    """Create WINDSOCK_HOME and a documented config file there, if missing."""
    path = config_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(default_file_text())
    return path


@dataclass(frozen=True)
class _FileValues:
    """The options set in one config file as of its modification time `mtime_ns` (None: there
    is no file), and when to look at the file again."""
    mtime_ns: int | None
    values: dict[tuple[str, str], str]
    check_after: float


_files: dict[Path, _FileValues] = {}


def _parsed(path: Path) -> dict[tuple[str, str], str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return {(section, key): value for section in parser.sections()
            for key, value in parser.items(section, raw=True)}


def _file_values() -> dict[tuple[str, str], str]:
    path = config_file()
    now = time.monotonic()
    known = _files.get(path)
    if known is not None and now < known.check_after:
        return known.values
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime_ns = None
    if known is None or known.mtime_ns != mtime_ns:
        values = {} if mtime_ns is None else _parsed(path)
    else:
        values = known.values
    _files[path] = _FileValues(mtime_ns, values, now + FILE_CHECK_SECONDS)
    return values


def get(section: str, key: str) -> str:
    """The effective value of an option as text."""
    opt = _BY_NAME.get((section, key))
    if opt is None:
        raise ConfigError(f"Unknown option [{section}] {key}.")
    value = os.environ.get(_ENV_NAMES[section, key])
    if value is None:
        value = _file_values().get((section, key), opt.default)
    return value.replace("{WINDSOCK_HOME}", str(home())) if "{" in value else value


def get_int(section: str, key: str) -> int:
    value = get(section, key)
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"[{section}] {key} must be a whole number, not {value!r}.") from None


def get_float(section: str, key: str) -> float:
    value = get(section, key)
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"[{section}] {key} must be a number, not {value!r}.") from None


def get_bool(section: str, key: str) -> bool:
    value = get(section, key).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"[{section}] {key} must be True or False, not {value!r}.")


def hostname() -> str:
    """This machine's name as the others reach it: [core] hostname, or the FQDN."""
    return get("core", "hostname") or socket.getfqdn()


def effective(section: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Sections with their (key, value) pairs, secrets masked; only `section` when given."""
    result: dict[str, list[tuple[str, str]]] = {}
    for opt in OPTIONS:
        if section is None or opt.section == section:
            value = MASK if opt.secret else get(opt.section, opt.key)
            result.setdefault(opt.section, []).append((opt.key, value))
    return list(result.items())


def as_ini(sections: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """Render sections in the config file's own format."""
    return "\n".join(
        f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in options)
        for name, options in sections
    )
