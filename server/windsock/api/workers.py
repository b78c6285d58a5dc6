"""The worker processes of `windsock api-server`: with several, each listens on a socket of its
own, so that connections spread over them.

uvicorn's multiprocess supervisor binds one listening socket and hands it to every worker. The
workers then race to accept on it, and a burst of connections (a client pool opening its
keep-alive connections at once) can all be accepted by the one that wakes first, leaving the
others idle for as long as those connections live. Here every worker gets a socket of its own,
bound to the same address with SO_REUSEPORT, and the kernel spreads new connections over the
listening sockets: in turn where the system lets a worker load the small eBPF program of
`windsock.api.round_robin`, otherwise by a hash of each connection's addresses and ports.

The supervising process binds the address first (with SO_REUSEPORT too, but never listening, so
no connection is ever queued on it): a port another program holds stops the start there, as
before. That socket is what uvicorn's supervisor hands to each worker it starts, and handing it
over (pickling it into the spawned process) binds a new listening socket in the worker. So a
worker started again after one died gets a new socket too, and a dead worker's socket dies with
it rather than queueing connections nobody accepts. Everything else is uvicorn's: health pings,
replacing dead workers, SIGHUP restarts, graceful shutdown on SIGTERM and SIGINT. SO_REUSEPORT
lets only processes of the same user bind the address while the server runs.
"""

from __future__ import annotations

import gc
import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from windsock.api import round_robin

log = logging.getLogger("uvicorn.error")


def bound_socket(family: int, address: tuple) -> socket.socket:
    """A new TCP socket bound to `address` with SO_REUSEPORT."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def listening_socket(family: int, address: tuple, backlog: int, workers: int) -> socket.socket:
    """A worker's socket: bound to `address`, listening, its group's connections handed to the
    `workers` sockets in turn where the system allows."""
    sock = bound_socket(family, address)
    sock.listen(backlog)
    round_robin.attach(sock, workers)
    return sock


class SharedAddress(socket.socket):
    """The supervisor's socket: pickled into a worker, it becomes that worker's own socket."""

    backlog = workers = 0

    def __reduce_ex__(self, _protocol):
        return listening_socket, (self.family, self.getsockname(), self.backlog, self.workers)


def reserve(config: uvicorn.Config) -> SharedAddress:
    """The address bound in the supervising process (exits as uvicorn does if it is taken)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    try:
        bound = bound_socket(family, (config.host, config.port))
    except OSError as exc:
        log.error(exc)
        sys.exit(STARTUP_FAILURE)
    reserved = SharedAddress(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=bound.detach())
    reserved.backlog, reserved.workers = config.backlog, config.workers
    log.info("Uvicorn running on http://%s:%d with a listening socket per worker (Press CTRL+C "
             "to quit)", config.host, reserved.getsockname()[1])
    return reserved


def served_app():
    """The application as a worker serves it (the ASGI factory `windsock api-server` names).

    Once it is built, everything the worker holds at that point (modules, the contract, the
    app) is moved out of the garbage collector's reach (`gc.freeze`): those objects live as long
    as the process, and a full collection scanned all of them, stopping the worker's every
    request for 50-100 ms about once a second under load (the p99 of every list)."""
    from windsock.app import create_app

    app = create_app()
    gc.freeze()
    return app


def serve(app: str, *, host: str, port: int, workers: int, **options) -> None:
    """Serve the ASGI application factory `app` with `workers` processes."""
    if workers == 1:
        uvicorn.run(app, factory=True, host=host, port=port, **options)
        return
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers, **options)
    Multiprocess(config, sockets=[reserve(config)]).run()
