"""Variables: what sets them apart from the other keyed resources (see test_http_conventions)."""

import pytest

from tests.api.accounts import API_ACCESS, PASSWORD, create_role, create_user, fresh_name
from tests.api.helpers import VARIABLES, assert_problem


def test_create_and_get_round_trip(client):
    body = {"key": "export_region", "value": '{"json": ["as", "text"]}', "description": None}
    response = client.post(VARIABLES.path, json=body)
    assert response.status_code == 201
    assert response.json() == body
    assert client.get(VARIABLES.url("export_region")).json() == body


def test_description_is_optional_and_null_when_left_out(client):
    response = client.post(VARIABLES.path, json={"key": "plain", "value": ""})
    assert response.status_code == 201
    assert response.json() == {"key": "plain", "value": "", "description": None}


def test_posting_over_an_existing_variable_needs_edit_too(client):
    """POST sets an existing variable (as in Airflow 2): a change, so can_create is not enough."""
    create_role(client, "Variable Makers", API_ACCESS, ("can_create", "Variables"))
    maker = fresh_name("maker")
    create_user(client, maker, "Variable Makers")
    VARIABLES.create(client, "region")
    refused = client.post(VARIABLES.path, json={"key": "region", "value": "elsewhere"},
                          auth=(maker, PASSWORD))
    assert_problem(refused, 403, "can_edit on Variables")
    assert client.get(VARIABLES.url("region")).json()["value"] == VARIABLES.sample["value"]
    created = client.post(VARIABLES.path, json={"key": "zone", "value": "a"},
                          auth=(maker, PASSWORD))
    assert created.status_code == 201


@pytest.mark.parametrize("key", ["warehouse_password", "GITHUB_TOKEN", "my-api_key.v2",
                                 "aws_secret"])
def test_sensitive_values_are_masked_in_lists_but_clear_on_get(client, key):
    VARIABLES.create(client, key, value="hunter2")
    VARIABLES.create(client, "region", value="eu-west-1")
    listed = {v["key"]: v["value"] for v in client.get(VARIABLES.path).json()["variables"]}
    assert listed == {key: "***", "region": "eu-west-1"}
    assert client.get(VARIABLES.url(key)).json()["value"] == "hunter2"


def test_patch_clears_the_description_with_null(client):
    VARIABLES.create(client, "region")
    response = client.patch(VARIABLES.url("region"), params={"update_mask": "description"},
                            json={"description": None})
    assert response.status_code == 200
    assert response.json() == {"key": "region", "value": VARIABLES.sample["value"],
                               "description": None}


def test_update_mask_cannot_name_the_key(client):
    VARIABLES.create(client, "region")
    response = client.patch(VARIABLES.url("region"), params={"update_mask": "key"},
                            json={"key": "region"})
    assert_problem(response, 400, "update_mask")


def test_value_must_be_a_string(client):
    assert_problem(client.post(VARIABLES.path, json={"key": "n", "value": 3}), 400, "string")
