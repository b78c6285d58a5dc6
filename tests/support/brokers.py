"""Throwaway Celery brokers for the Celery tests and the benchmark: Redis and RabbitMQ.

Each installs its Debian package when the server is missing (see debian), then runs as a
process of its own on a free port on 127.0.0.1, with its data, logs and everything else it
writes in a temporary folder, kept as a production broker keeps them: Redis with its
append-only file on, RabbitMQ with Celery's durable queues and persistent messages on disk. So
`restart` (SIGTERM, then start again) keeps the messages that were waiting, and a test can tell
how many wait in a queue (`waiting`) or lose them (`lose`), the same way on both. Clients log in
with a password (`password`), as docs/deployment.md sets a broker up.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

from tests.support.debian import installed
from tests.support.ports import free_port

START_TIMEOUT = 60  # seconds (a RabbitMQ node boots in a few seconds on a quiet machine)
STOP_TIMEOUT = 60


class Broker(ABC):
    """One broker server process; `url` is its broker URL ([celery] broker_url)."""

    ANSWER: bytes  # what the server answers to `_hello()` once it serves clients

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.folder = Path(tempfile.mkdtemp(prefix=f"windsock-{kind}-"))
        self.log_file = self.folder / f"{kind}.out"
        self.port = free_port()
        self.password = secrets.token_hex(12)
        self.proc: subprocess.Popen | None = None

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def _command(self) -> tuple[list[str], dict[str, str]]:
        """The server's command line and environment."""

    @abstractmethod
    def _hello(self) -> bytes:
        """The first bytes a client sends."""

    def start(self) -> None:
        command, env = self._command()
        self.proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start:\n{self.output()}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(self._hello())
                return sock.recv(16).startswith(self.ANSWER)
        except OSError:
            return False

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM (the server writes what it holds to disk and exits) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def waiting(self, queue: str) -> int:
        """How many messages wait in the Celery queue `queue` (0 when there is no such queue)."""
        from kombu import Connection

        with Connection(self.url) as connection:
            try:
                return connection.default_channel.queue_declare(
                    queue, passive=True).message_count
            except connection.channel_errors:  # not declared (Redis: no message in it)
                return 0

    def lose(self, queue: str) -> int:
        """Drop the messages waiting in the Celery queue `queue`; how many there were."""
        from kombu import Connection

        with Connection(self.url) as connection:
            return connection.default_channel.queue_purge(queue) or 0


class RedisServer(Broker):
    """redis-server, its append-only file on (as a broker that must keep its messages across a
    restart is run)."""

    ANSWER = b"+OK"

    def __init__(self) -> None:
        super().__init__("redis")
        self.binary = installed(("redis-server",), lambda: shutil.which("redis-server"))
        self.start()

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def _command(self) -> tuple[list[str], dict[str, str]]:
        return ([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                 str(self.folder), "--appendonly", "yes", "--save", "", "--requirepass",
                 self.password], dict(os.environ))

    def _hello(self) -> bytes:
        return f"AUTH {self.password}\r\n".encode()


RABBITMQ_CONF = """\
listeners.tcp.default = 127.0.0.1:{port}
default_vhost = windsock
default_user = windsock
default_pass = {password}
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = false
log.file.level = info
"""


def _rabbitmq_server() -> str | None:
    """The RabbitMQ server's start script (not the Debian wrapper in /usr/sbin, which runs it
    as the `rabbitmq` user with the system's configuration)."""
    found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"))
    return found[-1] if found else None


class RabbitMQServer(Broker):
    """A RabbitMQ node of its own: its own node name, Erlang cookie (its HOME), port mapper
    (epmd, on a free port, started here and stopped by `close`), distribution port, database
    (mnesia), logs and configuration, the system's (/etc/rabbitmq) left aside. Clients log in
    as `windsock` to the virtual host `windsock`, as docs/deployment.md sets a broker up."""

    ANSWER = b"\x01\x00\x00"  # a method frame on channel 0: connection.start

    def __init__(self) -> None:
        super().__init__("rabbitmq")
        self.script = installed(("rabbitmq-server",), _rabbitmq_server)
        self.node = f"windsock-{self.port}@localhost"
        self.epmd_port, self.dist_port = free_port(), free_port()
        (self.folder / "home").mkdir()
        (self.folder / "rabbitmq.conf").write_text(
            RABBITMQ_CONF.format(port=self.port, password=self.password))
        (self.folder / "enabled_plugins").write_text("[].\n")
        (self.folder / "rabbitmq-env.conf").write_text("")
        epmd = shutil.which("epmd") or glob.glob("/usr/lib/erlang/erts-*/bin/epmd")[0]
        self.epmd = subprocess.Popen([epmd, "-port", str(self.epmd_port), "-address",
                                      "127.0.0.1"], stdout=self.log_file.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.start()

    @property
    def url(self) -> str:
        return f"amqp://windsock:{self.password}@127.0.0.1:{self.port}/windsock"

    def _command(self) -> tuple[list[str], dict[str, str]]:
        folder = self.folder
        return [self.script], {
            **os.environ,
            "HOME": str(folder / "home"),  # its .erlang.cookie
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_CRASH_DUMP": str(folder / "erl_crash.dump"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(folder / "rabbitmq.pid"),
            # In the foreground, the script execs the Erlang VM (without it, the script stays
            # in between and stops the node with rabbitmqctl), which stops cleanly on SIGTERM.
            "RUNNING_UNDER_SYSTEMD": "true",
        }

    def _hello(self) -> bytes:
        return b"AMQP\x00\x00\x09\x01"  # the protocol header of AMQP 0-9-1

    def output(self) -> str:
        logs = sorted((self.folder / "log").glob("*.log"))
        return super().output() + "".join(
            f"\n--- {log.name}:\n{log.read_text(errors='replace')[-4000:]}" for log in logs)

    def close(self) -> None:
        self.stop()
        self.epmd.terminate()
        self.epmd.wait(timeout=STOP_TIMEOUT)
        super().close()
