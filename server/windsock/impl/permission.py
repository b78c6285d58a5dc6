"""Permission operations (stub): every action × resource pair that exists."""

from __future__ import annotations


def get_permissions(limit: int, offset: int):
    raise NotImplementedError
