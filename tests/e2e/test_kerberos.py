"""Kerberos (SPNEGO) authentication end to end: a real MIT KDC, a real api-server process with
`[api] auth_backends = kerberos,basic`, and real tickets sent by requests-gssapi.

The server is reached as `localhost`, so the client asks the KDC for a ticket to
HTTP/localhost@WINDSOCK.TEST, the service principal whose keys are in the server's keytab.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import gssapi
import pytest
import requests
from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth

from tests.conftest import ADMIN
from tests.support.kdc import Kdc, start_kdc
from tests.support.server import api_server

USER = "alice"  # a Kerberos principal with a Windsock user of the same name
STRANGER = "bob"  # a Kerberos principal no Windsock user matches
VERSION = "/api/v1/version"


@pytest.fixture(scope="module")
def kdc() -> Iterator[Kdc]:
    kdc = start_kdc()
    try:
        yield kdc
    finally:
        kdc.stop()


@pytest.fixture(scope="module")
def ccaches(kdc) -> dict[str, str]:
    """A credential cache holding a ticket-granting ticket for each principal, by name."""
    caches = {}
    for name in (USER, STRANGER):
        password = secrets.token_urlsafe(12)
        kdc.add_user(name, password)
        caches[name] = kdc.kinit(name, password, kdc.root / f"{name}.ccache")
    return caches


@pytest.fixture(scope="module")
def base_url(migrated, kdc) -> Iterator[str]:
    """http://localhost:PORT of an api-server trying Kerberos, then basic credentials."""
    env = {
        **migrated,
        "KRB5_CONFIG": kdc.env["KRB5_CONFIG"],
        "KRB5RCACHEDIR": kdc.env["KRB5RCACHEDIR"],
        "WINDSOCK__API__AUTH_BACKENDS": "kerberos,basic",
        "WINDSOCK__KERBEROS__KEYTAB": str(kdc.keytab),
        "WINDSOCK__KERBEROS__SERVICE_PRINCIPAL": kdc.service_principal,
    }
    with api_server(env) as base:
        yield base.replace("127.0.0.1", "localhost")


@pytest.fixture
def krb5_client(kdc, monkeypatch) -> None:
    """Point this process's Kerberos library at the test realm."""
    monkeypatch.setenv("KRB5_CONFIG", kdc.env["KRB5_CONFIG"])


@pytest.fixture
def windsock_user(migrated) -> str:
    """A Windsock user named like the Kerberos principal USER (removed after each test)."""
    from windsock.security.users import create_user

    create_user(USER, secrets.token_urlsafe(), "Viewer", email=f"{USER}@example.org")
    return USER


def spnego(ccache: str) -> HTTPSPNEGOAuth:
    creds = gssapi.Credentials(usage="initiate", store={"ccache": ccache})
    return HTTPSPNEGOAuth(creds=creds, mutual_authentication=OPTIONAL)


def challenges(response: requests.Response) -> list[str]:
    """The schemes of every WWW-Authenticate header of the response."""
    values = response.raw.headers.getlist("WWW-Authenticate")
    return [part.strip().split(" ")[0] for value in values for part in value.split(",")]


def test_a_kerberos_ticket_authenticates_the_matching_user(base_url, ccaches, krb5_client,
                                                           windsock_user):
    response = requests.get(base_url + VERSION, auth=spnego(ccaches[USER]), timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["version"]


def test_without_credentials_the_401_offers_negotiate(base_url):
    response = requests.get(base_url + VERSION, timeout=30)
    assert response.status_code == 401, response.text
    assert "Negotiate" in challenges(response)


def test_a_garbage_negotiate_token_is_refused_not_an_error(base_url):
    response = requests.get(base_url + VERSION, headers={"Authorization": "Negotiate Zm9v"},
                            timeout=30)
    assert response.status_code == 401, response.text
    assert "Negotiate" in challenges(response)


def test_a_principal_without_a_windsock_user_is_refused(base_url, ccaches, krb5_client,
                                                        windsock_user):
    response = requests.get(base_url + VERSION, auth=spnego(ccaches[STRANGER]), timeout=30)
    assert response.status_code == 401, response.text


def test_basic_credentials_still_work_after_kerberos(base_url):
    response = requests.get(base_url + VERSION, auth=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    wrong = requests.get(base_url + VERSION, auth=(ADMIN[0], "not-the-password"), timeout=30)
    assert wrong.status_code == 401, wrong.text
