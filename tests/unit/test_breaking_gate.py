"""The breaking-change gate (`scripts/contract.sh check`) on a released copy of today's bundle.

Each test releases the bundle as 1.0.0 in a temporary spec/released/, changes a copy of it the
way a contributor would change the split spec, and runs the gate as CI does. The first gate run
installs the pinned oasdiff into .tools/bin with the Go toolchain.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "spec" / "dist" / "openapi.yaml"


@pytest.fixture(scope="module")
def contract() -> dict:
    return yaml.safe_load(BUNDLE.read_text())


@pytest.fixture
def released(tmp_path, contract) -> Path:
    folder = tmp_path / "released"
    folder.mkdir()
    write(folder / "openapi-1.0.0.yaml", revised(contract, "1.0.0"))
    return folder


def write(path: Path, document: dict) -> None:
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def gate(revision: dict, released: Path) -> subprocess.CompletedProcess[str]:
    bundle = released.parent / "openapi.yaml"
    write(bundle, revision)
    return subprocess.run([ROOT / "scripts" / "contract.sh", "check", bundle, released],
                          capture_output=True, text=True, timeout=600)


def accept(released: Path, version: str, lines: list[str]) -> None:
    accepted = released / f"openapi-{version}.accepted-breaking-changes.txt"
    accepted.write_text("".join(f"{line}\n" for line in lines))


def printed_changes(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The breaking changes as the gate prints them, one line each, ready to accept."""
    lines = result.stdout.splitlines()
    return sorted({line for line in lines if line.startswith(("error ", "warning "))})


def revised(contract: dict, version: str) -> dict:
    revision = copy.deepcopy(contract)
    revision["info"]["version"] = version
    return revision


def breaking(contract: dict, version: str) -> dict:
    """The contract without GET /version and with an optional property of POST /pools' body made
    required: two changes that break existing clients."""
    revision = revised(contract, version)
    del revision["paths"]["/version"]
    body = revision["paths"]["/pools"]["post"]["requestBody"]["content"]["application/json"]
    schema = revision["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    optional = sorted(set(schema["properties"]) - set(schema.get("required", [])))
    schema["required"] = [*schema.get("required", []), optional[0]]
    return revision


def test_a_change_that_breaks_no_client_passes_without_a_new_version(contract, released):
    revision = revised(contract, "1.0.0")
    added = copy.deepcopy(revision["paths"]["/health"])
    added["get"]["operationId"] = "get_health_again"
    revision["paths"]["/health/again"] = added
    result = gate(revision, released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No breaking changes to report" in result.stdout


def test_a_breaking_change_without_a_new_version_fails(contract, released):
    result = gate(breaking(contract, "1.0.0"), released)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "in API GET /version API path removed without deprecation" in result.stdout
    assert "[request-property-became-required]" in result.stdout
    assert "needs a major increase of info.version" in result.stdout


def test_listing_the_changes_is_not_enough_without_a_major_version_increase(contract, released):
    printed = printed_changes(gate(breaking(contract, "1.0.0"), released))
    accept(released, "1.1.0", printed)
    result = gate(breaking(contract, "1.1.0"), released)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "needs a major increase of info.version" in result.stdout


def test_a_new_major_version_must_list_every_breaking_change(contract, released):
    printed = printed_changes(gate(breaking(contract, "2.0.0"), released))
    # The removal, and the newly required property wherever the pool body is used (POST /pools,
    # the bulk PATCH /pools).
    assert sum("GET /version" in line for line in printed) == 1, printed
    assert len(printed) >= 2 and all("GET /version" in line or "[request-property-became-required]"
                                     in line for line in printed), printed
    accept(released, "2.0.0", [line for line in printed if "GET /version" in line])
    result = gate(breaking(contract, "2.0.0"), released)
    assert result.returncode == 1, result.stdout + result.stderr
    unlisted = result.stdout.split("are not listed in", 1)[1]
    assert "[request-property-became-required]" in unlisted
    assert "GET /version" not in unlisted


def test_a_new_major_version_with_every_breaking_change_listed_passes(contract, released):
    printed = printed_changes(gate(breaking(contract, "2.0.0"), released))
    accept(released, "2.0.0", printed)
    result = gate(breaking(contract, "2.0.0"), released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: no breaking change that is not accepted for 2.0.0" in result.stdout
