"""The Python SDK as a distribution: its sdist and wheel built from clients/python (a copy) with
setuptools' build backend, the wheel built again from the unpacked sdist (so that the sdist holds
all it needs), installed into a fresh virtual environment and used there against a live server,
the generated API and the hand-written helpers alike.

The SDK's dependencies come from this test environment (see tests/support/venv.py), so
`windsock_client` itself can only be the installed wheel.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.support.venv import run, venv_with

SDK = Path(__file__).resolve().parents[2] / "clients" / "python"
BUILD = ("import sys; from setuptools import build_meta; "
         "print(getattr(build_meta, sys.argv[1])(sys.argv[2]))")
# What the distributions must carry besides the generated modules.
CARRIED = ("windsock_client/helpers.py", "windsock_client/py.typed",
           "windsock_client/models/dag_run_wait_line.py")
USE = """
import sys
import windsock_client
from windsock_client.helpers import items

assert windsock_client.__file__.startswith(sys.prefix), windsock_client.__file__
config = windsock_client.Configuration(host=sys.argv[1], username=sys.argv[2],
                                       password=sys.argv[3])
with windsock_client.ApiClient(config) as client:
    print(windsock_client.MonitoringApi(client).get_version().version)
    roles = [role.name for role in items(windsock_client.RoleApi(client).get_roles, limit=2)]
    print(",".join(sorted(roles)))
"""


def build(kind: str, source: Path, out: Path) -> Path:
    """Build the sdist or the wheel (`kind`: build_sdist, build_wheel) of `source` into `out`."""
    out.mkdir(exist_ok=True)
    name = run([sys.executable, "-c", BUILD, kind, out], cwd=source).stdout.splitlines()[-1]
    return out / name


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> tuple[Path, Path]:
    """The sdist, and the wheel built from the unpacked sdist."""
    root = tmp_path_factory.mktemp("sdk")
    source = root / "python"  # a copy, so the builds write nothing into the checkout
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns(
        "*.egg-info", "__pycache__", "build", "dist"))
    sdist = build("build_sdist", source, root / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "unpacked", filter="data")
    [unpacked] = (root / "unpacked").iterdir()
    return sdist, build("build_wheel", unpacked, root / "dist")


def test_the_sdist_and_the_wheel_carry_the_helpers(distributions):
    sdist, wheel = distributions
    assert sdist.name == "windsock_client-1.0.0.tar.gz" and wheel.name.endswith("-py3-none-any.whl")
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    assert {*CARRIED, "README.md", "pyproject.toml"} <= names
    with zipfile.ZipFile(wheel) as archive:
        assert set(CARRIED) <= set(archive.namelist())


def test_the_wheel_installs_and_works(distributions, live_server, tmp_path):
    _, wheel = distributions
    python = venv_with(wheel, tmp_path / "venv") / "python"
    out = run([python, "-c", USE, f"{live_server}/api/v1", *ADMIN], cwd=tmp_path).stdout
    version, roles = out.splitlines()
    assert version and roles == "Admin,Op,Public,User,Viewer"
