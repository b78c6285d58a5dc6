"""Role operations (stubs). The built-in roles (Admin, Op, User, Viewer, Public) cannot be
changed or deleted (409)."""

from __future__ import annotations


def get_roles(limit: int, offset: int, order_by: str):
    raise NotImplementedError


def post_role(body: dict):
    raise NotImplementedError


def get_role(role_name: str):
    raise NotImplementedError


def patch_role(role_name: str, body: dict, update_mask: list[str] | None = None):
    raise NotImplementedError


def delete_role(role_name: str):
    raise NotImplementedError
