"""Auth operations (stubs): the caller's own access tokens, session and personal API tokens.

`create_access_token` is served without credentials too; it then checks the username and
password in its body. `login` is public and checks the credentials in its body.
"""

from __future__ import annotations


def create_access_token(body: dict | None = None):
    raise NotImplementedError


def login(body: dict):
    raise NotImplementedError


def logout():
    raise NotImplementedError


def get_api_tokens(limit: int, offset: int):
    raise NotImplementedError


def create_api_token(body: dict):
    raise NotImplementedError


def revoke_api_token(token_id: int):
    raise NotImplementedError
