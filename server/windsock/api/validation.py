"""Request validation as connexion does it, with the API's status codes and readable details.

- A JSON body missing a mandatory field is well formed but unprocessable: 422, not 400.
- An optional body may be left out (connexion would insist on one), but a JSON `null` body is
  400 rather than taken for a left-out one.
- A parameter that breaks its schema is named in the detail, without jsonschema's schema dump.
- A body field that breaks its schema is named too; a secret one's value is never repeated.
- A combination of fields that the contract forbids (a `not` of described `anyOf` branches) is
  422 with the description of the combination, like the rules only an operation can check.
- Text that cannot be stored (NUL, lone surrogates) or a URL that is not UTF-8 is 400 naming the
  field, anywhere in the body or the parameters (see `windsock.api.text`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import cache
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from starlette.types import Scope

from windsock.api import filters, json_body, text
from windsock.api.problems import BadRequest, Unprocessable
from windsock.masking import is_sensitive


# The validators of the contract's schemas, built once each. connexion builds a jsonschema
# validator (and deep-copies a parameter's schema) for every parameter and body of every
# request; the schemas are the contract's own objects, the same on every request. An entry
# holds its schema, so that the id it is found by stays that schema's.
_validators: dict[int, tuple[dict, Any]] = {}


def _validator_of(schema: dict, kind: type) -> Any:
    entry = _validators.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _validators[id(schema)] = (
            schema, kind(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
    return entry[1]


class BodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self) -> Draft4RequestValidator:
        return _validator_of(self._schema, Draft4RequestValidator)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None  # no body
        body = json_body.parse(raw, self._encoding)
        if body is None and not self._nullable:
            raise BadRequest("The body is JSON null; send an object, or leave the body out "
                             "where it is optional.")
        return body

    def _validate(self, body: Any) -> dict | None:
        if body is None and not self._required:
            return None  # an optional body that was left out
        if reason := text.unstorable(body):
            raise BadRequest(reason)
        if isinstance(body, dict):
            missing = [name for name in self._schema.get("required", []) if name not in body]
            if missing:
                raise Unprocessable(f"The body is missing the mandatory field(s) "
                                    f"{', '.join(map(repr, missing))}.")
            # A malformed datetime is a 400 before any rule between fields can make it a 422.
            for name, field in self._schema.get("properties", {}).items():
                if field.get("format") == "date-time" and isinstance(body.get(name), str):
                    filters.parse_datetime(name, body[name])
        try:
            return self._validator.validate(body)
        except ValidationError as error:
            if error.validator == "not":
                raise Unprocessable(_forbidden(error)) from None
            raise BadRequest(_described(error, body)) from None


def _forbidden(error: ValidationError) -> str:
    """A body (or an object in it) that is a combination of fields the contract forbids with
    `not`: well formed but unprocessable, and described by the contract's own words, the
    `description` of the forbidden combination (the `anyOf` branch) that it is."""
    branches = error.validator_value.get("anyOf", [error.validator_value])
    rule = next(branch["description"] for branch in branches
                if Draft4Validator(branch).is_valid(error.instance))
    path = ".".join(map(str, error.absolute_path))
    return f"'{path}': {rule}" if path else rule


def _described(error: ValidationError, body: Any) -> str:
    """jsonschema's message naming the field, but without the refused value where the field is
    secret (a password, a sensitive variable's value): answers never repeat secrets."""
    path = ".".join(map(str, error.absolute_path))
    secret = any(is_sensitive(str(part)) for part in error.absolute_path) or (
        isinstance(body, dict) and isinstance(body.get("key"), str) and is_sensitive(body["key"]))
    if not secret:
        return f"{error.message} - '{path}'" if path else error.message
    return (f"'{path or 'body'}' breaks the rule {error.validator} "
            f"({error.validator_value!r}); its value is secret, so it is not repeated here.")


class Parameters(ParameterValidator):
    def validate_request(self, request):
        scope = request.scope
        if reason := text.undecodable_parameters(scope.get("raw_path"), scope["query_string"],
                                                 scope.get("path_params", {})):
            raise BadRequest(reason)
        super().validate_request(request)

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if reason := text.unstorable(value, param["name"]):
            return f"Invalid {parameter_type} parameter: {reason}"
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            _validator_of(param.get("schema", param), Draft4Validator).validate(value)
        except ValidationError as error:
            return f"Invalid {parameter_type} parameter '{param['name']}': {error.message}"
        return None


@cache
def _schema_validator(name: str) -> Draft4RequestValidator:
    from windsock.app import specification  # the app imports this module

    schemas = resolve_refs(specification())["components"]["schemas"]
    return Draft4RequestValidator(schemas[name], format_checker=Draft4Validator.FORMAT_CHECKER)


def check(schema: str, value: Any) -> None:
    """Raise BadRequest, as for a request body, when `value` breaks the contract's schema named
    `schema`: for what reaches the operations' code without a request (the command line's
    imports)."""
    if reason := text.unstorable(value):
        raise BadRequest(reason)
    try:
        _schema_validator(schema).validate(value)
    except ValidationError as error:
        raise BadRequest(_described(error, value)) from None


def validator_map() -> dict:
    """connexion's validators with ours in place of the JSON body and parameter ones."""
    return {
        "parameter": Parameters,
        "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": BodyValidator}),
    }
