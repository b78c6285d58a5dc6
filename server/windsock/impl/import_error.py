"""Placeholder: being implemented."""


def get_import_error(import_error_id, **_):
    raise NotImplementedError


def get_import_errors(limit, offset, order_by, **_):
    raise NotImplementedError
