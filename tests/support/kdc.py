"""A throwaway MIT Kerberos KDC for the test suite.

Installs Debian's MIT Kerberos packages when their programs are missing, then creates a realm in
a temporary folder: its krb5.conf and kdc.conf, a database with a random master password, and a
KDC listening on a free port on 127.0.0.1. Every program is pointed at those files through the
KRB5_* environment variables of `Kdc.env`, so nothing under /etc is read or written.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.debian import installed
from tests.support.ports import free_port

REALM = "WINDSOCK.TEST"
SERVICE = "HTTP/localhost"
PACKAGES = ("krb5-kdc", "krb5-admin-server", "krb5-user")
PROGRAMS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit")
SBIN = ("/usr/sbin", "/sbin")

KRB5_CONF = """\
[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    localhost = {realm}
"""

KDC_CONF = """\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {root}/principal
        key_stash_file = {root}/stash
        acl_file = {root}/kadm5.acl
        max_life = 1h
        max_renewable_life = 1h
    }}

[logging]
    kdc = FILE:{root}/kdc.log
"""


def _which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=os.pathsep.join(SBIN))


def _programs() -> dict[str, str]:
    """The path of each needed program; installs the Debian packages when one is missing."""
    def find() -> dict[str, str] | None:
        found = {p: _which(p) for p in PROGRAMS}
        return found if all(found.values()) else None

    return installed(PACKAGES, find)


@dataclass
class Kdc:
    root: Path
    port: int
    programs: dict[str, str]
    env: dict[str, str]
    keytab: Path
    realm: str = REALM
    service_principal: str = f"{SERVICE}@{REALM}"
    process: subprocess.Popen | None = field(default=None, repr=False)

    def _run(self, program: str, *args: str, stdin: str | None = None) -> None:
        proc = subprocess.run([self.programs[program], *args], input=stdin, text=True,
                              capture_output=True, env={**os.environ, **self.env}, timeout=60,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} exited with {proc.returncode}:\n"
                               f"{proc.stdout}{proc.stderr}")

    def _kadmin(self, query: str) -> None:
        self._run("kadmin.local", "-r", self.realm, "-q", query)

    def add_user(self, name: str, password: str) -> str:
        """Create the principal `name@REALM` with `password`; its full name."""
        self._kadmin(f"addprinc -pw {password} {name}")
        return f"{name}@{self.realm}"

    def kinit(self, name: str, password: str, ccache: Path) -> str:
        """Get a ticket-granting ticket for `name` into the file `ccache`; its `FILE:` name."""
        ccache_name = f"FILE:{ccache}"
        self._run("kinit", "-c", ccache_name, f"{name}@{self.realm}", stdin=password + "\n")
        return ccache_name

    def log(self) -> str:
        path = self.root / "kdc.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [self.programs["krb5kdc"], "-n", "-r", self.realm], env={**os.environ, **self.env},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"krb5kdc exited with {self.process.returncode}:\n"
                                   f"{self.process.stdout.read()}\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"krb5kdc did not listen within 30s:\n"
                                       f"{self.log()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_kdc() -> Kdc:
    """A running KDC for REALM with the service principal HTTP/localhost in `Kdc.keytab`."""
    programs = _programs()
    root = Path(tempfile.mkdtemp(prefix="windsock-kdc-"))
    port = free_port()
    (root / "krb5.conf").write_text(KRB5_CONF.format(realm=REALM, port=port))
    (root / "kdc.conf").write_text(KDC_CONF.format(realm=REALM, port=port, root=root))
    (root / "kadm5.acl").write_text("")
    (root / "rcache").mkdir()
    keytab = root / "http.keytab"
    env = {
        "KRB5_CONFIG": str(root / "krb5.conf"),
        "KRB5_KDC_PROFILE": str(root / "kdc.conf"),
        "KRB5CCNAME": f"FILE:{root / 'ccache'}",
        "KRB5_KTNAME": f"FILE:{keytab}",
        "KRB5RCACHEDIR": str(root / "rcache"),
    }
    kdc = Kdc(root, port, programs, env, keytab)
    try:
        kdc._run("kdb5_util", "-r", REALM, "create", "-s", "-P", secrets.token_urlsafe(24))
        kdc._kadmin(f"addprinc -randkey {SERVICE}")
        kdc._kadmin(f"ktadd -k {keytab} {SERVICE}")
        kdc._start()
    except BaseException:
        kdc.stop()
        raise
    return kdc
