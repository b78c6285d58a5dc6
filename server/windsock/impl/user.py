"""User operations (stubs): list, create, read, update and delete users and their roles.

Responses never contain a password. A user cannot delete themselves (409).
"""

from __future__ import annotations


def get_users(limit: int, offset: int, order_by: str):
    raise NotImplementedError


def post_user(body: dict):
    raise NotImplementedError


def get_user(username: str):
    raise NotImplementedError


def patch_user(username: str, body: dict, update_mask: list[str] | None = None):
    raise NotImplementedError


def delete_user(username: str):
    raise NotImplementedError
