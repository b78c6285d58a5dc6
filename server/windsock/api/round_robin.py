"""Handing a SO_REUSEPORT group's new connections to its listening sockets in turn (Linux eBPF).

Without a program, the kernel picks a group's socket by a hash of each connection's addresses
and ports: eight connections land on one of two sockets about once in 128 tries, and seven on
one about once in 16. The program below counts connections in a one-entry array map and returns
the count modulo the number of sockets, which the kernel takes as the index of the socket to
use (an index past the group's current size, as while a dead worker is replaced, falls back to
the hash).

Loading it needs the bpf() system call, which unprivileged processes may be refused; `attach`
then leaves the hash in place and says so.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import socket
import struct

SYS_BPF = 321  # x86_64
BPF_MAP_CREATE, BPF_PROG_LOAD = 0, 5
BPF_MAP_TYPE_ARRAY, BPF_PROG_TYPE_SOCKET_FILTER = 2, 1
SO_ATTACH_REUSEPORT_EBPF = 52
ATTR_SIZE = 128

log = logging.getLogger(__name__)


def _bpf(command: int, attr: bytes) -> int:
    buffer = ctypes.create_string_buffer(attr, ATTR_SIZE)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(SYS_BPF, command, buffer, ATTR_SIZE)
    if fd < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return fd


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _program(counter_fd: int, sockets: int) -> bytes:
    return b"".join([
        _insn(0x62, dst=10, off=-4, imm=0),         # *(u32 *)(r10 - 4) = 0   (the key)
        _insn(0xbf, dst=2, src=10),                  # r2 = r10
        _insn(0x07, dst=2, imm=-4),                  # r2 += -4
        _insn(0x18, dst=1, src=1, imm=counter_fd),   # r1 = the counter map
        _insn(0),
        _insn(0x85, imm=1),                          # r0 = map_lookup_elem(r1, r2)
        _insn(0x55, dst=0, off=2, imm=0),            # if r0 != 0 goto +2
        _insn(0xb7, dst=0, imm=-1),                  # r0 = no index (the hash decides)
        _insn(0x95),                                 # exit
        _insn(0xb7, dst=1, imm=1),                   # r1 = 1
        _insn(0xc3, dst=0, src=1, imm=0x01),         # r1 = atomic_fetch_add(*(u32 *)r0, r1)
        _insn(0x94, dst=1, imm=sockets),             # w1 %= sockets
        _insn(0xbc, dst=0, src=1),                   # w0 = w1
        _insn(0x95),                                 # exit
    ])


def attach(sock: socket.socket, sockets: int) -> bool:
    """Have the SO_REUSEPORT group of the listening `sock` hand new connections to its
    `sockets` sockets in turn; False (the kernel's hash stays) when the system refuses."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    try:
        counter = _bpf(BPF_MAP_CREATE, struct.pack("<IIII", BPF_MAP_TYPE_ARRAY, 4, 4, 1))
        try:
            code = _program(counter, sockets)
            instructions = ctypes.create_string_buffer(code, len(code))
            license_ = ctypes.create_string_buffer(b"GPL")
            program = _bpf(BPF_PROG_LOAD, struct.pack(
                "<IIQQ", BPF_PROG_TYPE_SOCKET_FILTER, len(code) // 8,
                ctypes.addressof(instructions), ctypes.addressof(license_)))
        finally:
            os.close(counter)  # the loaded program holds the map
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, program)
        finally:
            os.close(program)  # the group holds the program
    except OSError as exc:
        log.info("Connections go to the workers by the kernel's hash (no round robin: %s)", exc)
        return False
    return True
