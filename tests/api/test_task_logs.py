"""Task logs: where each try's file lives, reading it in pages with continuation tokens, as
JSON or plain text, and refusing tokens, tries and media types that do not fit."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.api.helpers import API, assert_problem
from tests.support.seed import EPOCH, add_dag, add_run, sample_dag
from windsock import logs
from windsock.db.engine import session
from windsock.db.models import TaskInstance

PAGE_BYTES = 100
RUN_ID = "manual__2026-01-01T00:00:00+00:00"


def log_url(task_id: str = "extract", try_number: int = 1, run_id: str = RUN_ID) -> str:
    return f"{API}/dags/sample/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"


def write_log(text: str, task_id: str = "extract", try_number: int = 1,
              run_id: str = RUN_ID) -> Path:
    path = logs.log_path("sample", run_id, task_id, try_number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def long_log(lines: int = 40) -> str:
    return "".join(f"[2026-01-01T00:00:{n % 60:02d}+00:00] INFO - step {n} done\n"
                   for n in range(lines))


def read_all(client, url: str, **params) -> list[str]:
    """Every piece of the log, following the continuation tokens (JSON answers) until a piece
    is empty (the end of what has been written)."""
    pieces, token = [], None
    while True:
        response = client.get(url, params={**params, **({"token": token} if token else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        if not body["content"]:
            return pieces
        pieces.append(body["content"])
        token = body["continuation_token"]
        assert len(pieces) < 1000


@pytest.fixture
def log_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "logs"
    monkeypatch.setenv("WINDSOCK__LOGGING__BASE_LOG_FOLDER", str(folder))
    monkeypatch.setenv("WINDSOCK__API__LOG_PAGE_BYTES", str(PAGE_BYTES))
    return folder


@pytest.fixture
def run(migrated, log_folder):
    """extract succeeded on try 1 and transform is running try 2; load has not started."""
    dag = sample_dag()
    add_dag(dag)
    add_run(dag, RUN_ID, state="running", logical_date=EPOCH,
            states={"extract": "success", "transform": "running"})
    with session() as sess:
        sess.execute(update(TaskInstance).where(TaskInstance.task_id == "transform")
                     .values(try_number=2))


# --- where logs live -------------------------------------------------------------------------


def test_log_path_layout(log_folder):
    assert logs.log_path("sample", RUN_ID, "extract", 3) == (
        log_folder / "dag_id=sample" / f"run_id={RUN_ID}" / "task_id=extract" / "attempt=3.log")


@pytest.mark.parametrize("evil", ["..", "../..", "../../../etc/passwd", "/etc/passwd",
                                  "a/../../b", "..\\..\\x", ".", "", "%2e%2e", "a\x00b"])
def test_ids_cannot_leave_the_log_folder(log_folder, evil):
    path = logs.log_path(evil, evil, evil, 1)
    assert path.resolve().is_relative_to(log_folder.resolve())
    assert len(path.relative_to(log_folder).parts) == 4
    for part, name in zip(path.relative_to(log_folder).parts, ("dag_id", "run_id", "task_id")):
        assert part.startswith(f"{name}=") and "/" not in part and "\\" not in part


def test_a_dot_dot_task_reads_its_own_log_not_one_outside(client, run, log_folder):
    with session() as sess:
        sess.add(TaskInstance(dag_id="sample", run_id=RUN_ID, task_id="..", map_index=-1,
                              try_number=1, state="success", pool="default_pool"))
    # Where a naive join of the ids would lead: out of the task's folder, into the run's.
    outside = log_folder / "dag_id=sample" / f"run_id={RUN_ID}" / "attempt=1.log"
    outside.parent.mkdir(parents=True)
    outside.write_text("someone else's log\n")
    url = log_url("%2E%2E")
    assert client.get(url).json()["content"] == ""
    write_log("the dot-dot task's own log\n", task_id="..")
    assert client.get(url).json()["content"] == "the dot-dot task's own log\n"


# --- reading ---------------------------------------------------------------------------------


def test_a_log_not_written_yet_is_empty_and_read_on_from_its_start(client, run):
    response = client.get(log_url("transform", 2))
    assert response.status_code == 200
    assert response.json() == {"content": "", "continuation_token": logs.encode_token(
        ("sample", RUN_ID, "transform", -1, 2), 0)}


def test_a_short_log_comes_whole_with_a_token_to_read_on(client, run):
    write_log("hello\n")
    first = client.get(log_url()).json()
    assert first["content"] == "hello\n"
    # At the end, the token reads on from the end: nothing until more is written.
    assert client.get(log_url(), params={"token": first["continuation_token"]}).json() == {
        "content": "", "continuation_token": first["continuation_token"]}


def test_a_long_log_is_paged_with_tokens(client, run):
    text = long_log()
    write_log(text)
    pieces = read_all(client, log_url())
    assert "".join(pieces) == text
    assert len(pieces) == -(-len(text.encode()) // PAGE_BYTES)
    assert all(len(piece.encode()) <= PAGE_BYTES for piece in pieces)


def test_pages_end_on_character_boundaries(client, run, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__LOG_PAGE_BYTES", "5")
    text = "début – 完成 ✓ 😀 fin\n" * 3
    write_log(text)
    pieces = read_all(client, log_url())
    assert "".join(pieces) == text
    assert "\ufffd" not in "".join(pieces)


def test_each_try_has_its_own_log(client, run):
    write_log("try one\n", task_id="transform", try_number=1)
    write_log("try two\n", task_id="transform", try_number=2)
    assert client.get(log_url("transform", 1)).json()["content"] == "try one\n"
    assert client.get(log_url("transform", 2)).json()["content"] == "try two\n"


def test_a_log_that_grows_is_read_on_with_the_last_token(client, run):
    path = write_log(long_log(10))
    first = client.get(log_url()).json()
    path.write_bytes(path.read_bytes() + b"more\n")
    rest = read_all(client, log_url(), token=first["continuation_token"])
    assert first["content"] + "".join(rest) == long_log(10) + "more\n"


def test_full_content_returns_everything_and_ignores_the_token(client, run):
    text = long_log()
    write_log(text)
    token = client.get(log_url()).json()["continuation_token"]
    at_end = logs.encode_token(("sample", RUN_ID, "extract", -1, 1), len(text.encode()))
    for params in ({"full_content": "true"}, {"full_content": "true", "token": token}):
        assert client.get(log_url(), params=params).json() == {"content": text,
                                                               "continuation_token": at_end}


def test_plain_text_pages_with_the_continuation_token_header(client, run):
    text = long_log() + "fin ✓\n"
    write_log(text)
    pieces, params = [], {}
    while True:
        response = client.get(log_url(), params=params, headers={"Accept": "text/plain"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        if not response.text:
            break
        pieces.append(response.text)
        params = {"token": response.headers["continuation-token"]}
    assert "".join(pieces) == text
    assert len(pieces) > 1


@pytest.mark.parametrize("accept, media_type", [
    ("text/plain", "text/plain"), ("text/*", "text/plain"), ("*/*", "application/json"),
    ("application/json, text/plain;q=0.5", "application/json"),
    ("text/plain, application/json;q=0.1", "text/plain"),
])
def test_accept_chooses_the_form(client, run, accept, media_type):
    write_log("hello\n")
    response = client.get(log_url(), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type


def test_other_media_types_are_406(client, run):
    assert_problem(client.get(log_url(), headers={"Accept": "application/xml"}), 406,
                   "text/plain", "application/json")


# --- what does not exist ---------------------------------------------------------------------


@pytest.mark.parametrize("url, params, status, words", [
    (log_url("extract", 2), {}, 404, ["no try 2", "try 1"]),
    (log_url("transform", 3), {}, 404, ["no try 3"]),
    (log_url("load", 1), {}, 404, ["no try 1", "try 0"]),
    (log_url("nope", 1), {}, 404, ["nope"]),
    (log_url(run_id="nope"), {}, 404, ["no run", "nope"]),
    (log_url(), {"map_index": 0}, 404, ["map index 0"]),
    (log_url("extract", 0), {}, 400, ["task_try_number"]),
])
def test_missing_tries_and_instances(client, run, url, params, status, words):
    assert_problem(client.get(url, params=params), status, *words)


# --- tokens ----------------------------------------------------------------------------------


def token_body(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def encode(body) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.fixture
def token(client, run) -> str:
    write_log(long_log(), task_id="extract")
    write_log(long_log(), task_id="transform", try_number=1)
    return client.get(log_url()).json()["continuation_token"]


def test_a_token_is_opaque_and_bound_to_its_try(client, token):
    body = token_body(token)
    assert body["offset"] == PAGE_BYTES
    assert client.get(log_url(), params={"token": token}).status_code == 200
    for other in (log_url("transform", 1), log_url("transform", 2)):
        assert_problem(client.get(other, params={"token": token}), 400, "token")


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2],
    lambda t: t[:5] + ("A" if t[5] != "A" else "B") + t[6:],
    lambda t: encode({**token_body(t), "offset": 3}),
    lambda t: encode({**token_body(t), "offset": -1}),
    lambda t: encode({**token_body(t), "offset": "100"}),
    lambda t: encode({"offset": 100}),
    lambda t: encode([100]),
    lambda t: "not a token!",
    lambda t: "é",
    lambda t: base64.urlsafe_b64encode(b"\xff\xfe").decode(),
], ids=["cut", "edited", "other-offset", "negative", "text-offset", "no-check", "list",
        "garbage", "non-ascii", "not-utf8"])
def test_tampered_tokens_are_400(client, token, tamper):
    assert_problem(client.get(log_url(), params={"token": tamper(token)}), 400, "token")


def test_a_token_past_the_end_of_the_log_is_400(client, token):
    key = ("sample", RUN_ID, "extract", -1, 1)
    past = logs.encode_token(key, len(long_log().encode()) + 1)
    assert_problem(client.get(log_url(), params={"token": past}), 400, "past the end")
    at_end = logs.encode_token(key, len(long_log().encode()))
    assert client.get(log_url(), params={"token": at_end}).json() == {
        "content": "", "continuation_token": at_end}
