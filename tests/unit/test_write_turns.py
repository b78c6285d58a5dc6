"""Write turns on SQLite (windsock.db.turns), across real processes."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import exc, text

from windsock.db import turns

HOLDER = textwrap.dedent("""
    import sys
    from windsock.db import turns
    with turns.turn(sys.argv[1], 5):
        print("holding", flush=True)
        sys.stdin.readline()
""")


@pytest.fixture
def holder(tmp_path):
    """Another process holding the turn of tmp_path/db until it is told to let go."""
    path = str(tmp_path / "db")
    process = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "holding\n"
    yield path, process
    process.kill()
    process.wait()


def let_go(process: subprocess.Popen) -> None:
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.wait(timeout=10) == 0


def test_a_turn_held_by_another_process_is_waited_for_within_the_bound(holder):
    path, process = holder
    with pytest.raises(exc.TimeoutError, match="No turn to write came within 0.2 s"):
        with turns.turn(path, 0.2):
            pass
    let_go(process)
    with turns.turn(path, 5) as left:  # given up by the holder, and not kept by the waiter
        assert 0 < left <= 5


def test_a_waiter_that_gave_up_gives_the_turn_back_when_it_comes(holder):
    path, process = holder
    with pytest.raises(exc.TimeoutError):
        with turns.turn(path, 0.1):
            pass
    let_go(process)
    # The waiter's thread is granted the file lock now; it must hand it on, to another process.
    other = subprocess.run([sys.executable, "-c", HOLDER, path], input="\n", text=True,
                           capture_output=True, timeout=30)
    assert other.returncode == 0 and other.stdout == "holding\n"


def test_a_turn_is_reentrant_within_a_thread(tmp_path):
    path = str(tmp_path / "db")
    with turns.turn(path, 1):
        with turns.turn(path, 1) as left:
            assert left == 1


def _increment(url: str, times: int) -> None:
    from windsock.db.engine import write_session

    for _ in range(times):
        with write_session() as sess:  # read, then write: a lost update without the turn
            value = sess.execute(text("SELECT value FROM counter")).scalar_one()
            sess.execute(text("UPDATE counter SET value = :v"), {"v": value + 1})


def test_concurrent_writers_in_several_processes_lose_no_update(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'counter.db'}"
    monkeypatch.setenv("WINDSOCK__DATABASE__SQL_ALCHEMY_CONN", url)
    from windsock.db.engine import write_session

    with write_session() as sess:
        sess.execute(text("CREATE TABLE counter (value INTEGER)"))
        sess.execute(text("INSERT INTO counter VALUES (0)"))
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_increment, args=(url, 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with write_session() as sess:
        assert sess.execute(text("SELECT value FROM counter")).scalar_one() == 200
