"""A SO_REUSEPORT group with the round-robin program hands new connections to its listening
sockets in turn (where the system lets the process load eBPF programs)."""

from __future__ import annotations

import socket

import pytest

from tests.support.ports import free_port
from windsock.api import round_robin
from windsock.api.workers import listening_socket

SOCKETS, CONNECTIONS, ROUNDS = 3, 9, 5


def accepted(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = sock.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def test_connections_go_to_the_sockets_in_turn():
    address = ("127.0.0.1", free_port())
    group = [listening_socket(socket.AF_INET, address, 64, SOCKETS) for _ in range(SOCKETS)]
    try:
        if not round_robin.attach(group[0], SOCKETS):
            pytest.skip("this system refuses the eBPF program; the kernel's hash spreads them")
        for sock in group:
            sock.setblocking(False)
        for _ in range(ROUNDS):
            clients = [socket.create_connection(address) for _ in range(CONNECTIONS)]
            assert [accepted(sock) for sock in group] == [CONNECTIONS // SOCKETS] * SOCKETS
            for client in clients:
                client.close()
    finally:
        for sock in group:
            sock.close()
