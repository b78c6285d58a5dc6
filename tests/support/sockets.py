"""Which processes hold which TCP sockets of a port, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"


def socket_inodes(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets whose local port is `port`, in `state`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holders(inodes: set[str], pids: list[int] | None = None) -> dict[int, int]:
    """How many of the sockets `inodes` each process holds (of `pids`, by default all)."""
    if pids is None:
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    held = {}
    for pid in pids:
        count = sum(1 for link in _fd_links(pid)
                    if link.startswith("socket:[") and link[8:-1] in inodes)
        if count:
            held[pid] = count
    return held


def _fd_links(pid: int) -> list[str]:
    """What the process's descriptors point to; none if it is gone. A descriptor closed while
    they are read is left out (a busy server opens and closes files all the time)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return links
