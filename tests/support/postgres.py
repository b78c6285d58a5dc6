"""A throwaway PostgreSQL cluster for the test suite.

Installs Debian's `postgresql` package when no server binaries are found, then creates a cluster
in a temporary folder listening on a free port on 127.0.0.1 and a private socket directory.
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.debian import installed
from tests.support.ports import free_port


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@dataclass
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: list[str]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.run_as, *args], check=True, stdout=subprocess.DEVNULL)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", name)
        return self.url(name)

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                  "stop")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster() -> Cluster:
    bin_dir = installed(("postgresql",), _bin_dir)
    root = Path(tempfile.mkdtemp(prefix="windsock-pg-"))
    data_dir, socket_dir = root / "data", root / "sock"
    socket_dir.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
    port = free_port()
    cluster = Cluster(bin_dir, data_dir, port, run_as)
    cluster._run(str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8")
    cluster._run(str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w", "-l", str(root / "log"),
                 "-o", f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 "
                       "-c fsync=off -c max_connections=200", "start")
    return cluster
