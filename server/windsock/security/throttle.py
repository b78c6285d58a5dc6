"""Slowing down password guessing: failed checks are counted per username and client address.

After `[api] auth_failure_limit` failures within `[api] auth_failure_window` seconds, further
attempts for that pair are refused with 429 until the oldest failure leaves the window, whether
or not the password would now be right. Counts live in the memory of each server process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from windsock import config
from windsock.security.backends import TooManyFailures

_failures: dict[tuple[str, str], deque[float]] = {}
_lock = threading.Lock()
_MAX_KEYS = 100_000


def _recent(key: tuple[str, str], now: float) -> deque[float]:
    window = config.get_int("api", "auth_failure_window")
    times = _failures.get(key, deque())
    while times and times[0] <= now - window:
        times.popleft()
    return times


def check(username: str, address: str) -> None:
    """Raise TooManyFailures when this pair has used up its failed attempts."""
    now = time.monotonic()
    with _lock:
        times = _recent((username, address), now)
        if len(times) >= config.get_int("api", "auth_failure_limit"):
            window = config.get_int("api", "auth_failure_window")
            raise TooManyFailures(max(1, math.ceil(times[0] + window - now)))


def failed(username: str, address: str) -> None:
    now = time.monotonic()
    with _lock:
        if len(_failures) >= _MAX_KEYS:
            _failures.clear()
        times = _recent((username, address), now)
        times.append(now)
        _failures[(username, address)] = times


def succeeded(username: str, address: str) -> None:
    with _lock:
        _failures.pop((username, address), None)
