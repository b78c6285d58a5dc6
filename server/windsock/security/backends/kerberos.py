"""Kerberos (SPNEGO) authentication: `Authorization: Negotiate <base64 GSS token>`.

The server accepts the client's token with the keys of its service principal, read from
`[kerberos] keytab` (or KRB5_KTNAME, or the system default keytab when that is empty). The
initiator's principal, without its realm (`alice@EXAMPLE.COM` -> `alice`), must name an active
Windsock user. Only single-round-trip mechanisms (Kerberos itself) are supported: a token that
would need another round trip is refused like an invalid one.

Needs python-gssapi: `pip install windsock[kerberos]`.
"""

from __future__ import annotations

import base64
import binascii
import logging

from starlette.requests import Request

from windsock import config
from windsock.security.backends import Identity
from windsock.security.identities import active_user

try:
    import gssapi
    from gssapi.exceptions import GSSError
except ImportError as exc:  # the optional extra is not installed
    raise ImportError("The kerberos auth backend needs python-gssapi: "
                      "pip install 'windsock[kerberos]'") from exc

CHALLENGE = "Negotiate"
SCHEME = "Negotiate"

log = logging.getLogger(__name__)


def _token(request: Request) -> bytes | None:
    """The GSS token of a Negotiate Authorization header; None when there is none."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "negotiate":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True) or None
    except (binascii.Error, ValueError):
        log.debug("Negotiate header is not valid base64")
        return None


def _acceptor_credentials() -> gssapi.Credentials:
    """The server's acceptor credentials, per `[kerberos] keytab` and `service_principal`."""
    principal = config.get("kerberos", "service_principal").strip()
    keytab = config.get("kerberos", "keytab").strip()
    name = gssapi.Name(principal, gssapi.NameType.kerberos_principal) if principal else None
    store = {"keytab": keytab} if keytab else None
    return gssapi.Credentials(name=name, usage="accept", store=store)


def _username(principal: str) -> str:
    """The principal's name without its realm."""
    return principal.rsplit("@", 1)[0]


def authenticate(request: Request) -> Identity | None:
    token = _token(request)
    if token is None:
        return None
    try:
        creds = _acceptor_credentials()
    except GSSError as exc:  # the server's keytab or principal, not the client, is at fault
        log.warning("Kerberos acceptor credentials unavailable: %s", exc)
        return None
    try:
        context = gssapi.SecurityContext(usage="accept", creds=creds)
        context.step(token)
        if not context.complete:
            log.debug("Negotiate token needs another round trip; refused")
            return None
        principal = str(context.initiator_name)
    except GSSError as exc:
        log.debug("Negotiate token refused: %s", exc)
        return None
    identity = active_user(_username(principal), via="kerberos")
    if identity is None:
        log.debug("Kerberos principal %s has no active Windsock user", principal)
    return identity
