"""Datasets: named pieces of data that tasks update (their `outlets`) and that DAGs schedule on.

A DAG's `schedule` may be a `Dataset`, a list of datasets (all of them must be updated), or a
condition built with `|` (any) and `&` (all), which nest:

    orders, prices = Dataset("s3://warehouse/orders"), Dataset("s3://warehouse/prices")
    DAG("consume", schedule=[orders, prices])          # both updated since the last run
    DAG("either", schedule=orders | prices)            # either one
    DAG("mixed", schedule=(orders & prices) | Dataset("s3://warehouse/fx"))

A condition's wire form (Airflow's `dataset_expression`) is `{"all": [...]}` or
`{"any": [...]}`, each part a dataset's URI or another such object; a schedule on one dataset
is all of one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_URI_LENGTH = 1500  # what the dataset table holds (Airflow: 3000)
DESCRIPTION = "Triggered by datasets"


class Condition:
    """Something a dataset-scheduled DAG waits for."""

    def __or__(self, other: Condition) -> DatasetAny:
        return DatasetAny(self, other)

    def __and__(self, other: Condition) -> DatasetAll:
        return DatasetAll(self, other)

    def expression(self) -> Any:
        raise NotImplementedError

    def uris(self) -> list[str]:
        """Every dataset URI the condition names, each once, in the order written."""
        raise NotImplementedError


class Dataset(Condition):
    """A piece of data named by its URI, such as `s3://warehouse/orders`."""

    def __init__(self, uri: str, extra: dict[str, Any] | None = None):
        if not isinstance(uri, str) or not uri.strip():
            raise ValueError("a Dataset needs a non-empty URI")
        if len(uri) > MAX_URI_LENGTH or not uri.isascii():
            raise ValueError(f"Dataset URI {uri[:80]!r} must be ASCII and at most "
                             f"{MAX_URI_LENGTH} characters")
        if uri.partition("://")[0].lower() == "airflow":
            raise ValueError(f"Dataset URI {uri!r}: the 'airflow' scheme is reserved")
        self.uri = uri
        self.extra = dict(extra or {})

    def expression(self) -> Any:
        return self.uri

    def uris(self) -> list[str]:
        return [self.uri]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    def __repr__(self) -> str:
        return f"Dataset({self.uri!r})"


class _Combination(Condition):
    key = ""

    def __init__(self, *objects: Condition):
        if not objects:
            raise ValueError("a dataset condition needs at least one dataset")
        for item in objects:
            if not isinstance(item, Condition):
                raise TypeError(f"a dataset condition holds Datasets or conditions, "
                                f"not {type(item).__name__}")
        self.objects = list(objects)

    def expression(self) -> Any:
        return {self.key: [item.expression() for item in self.objects]}

    def uris(self) -> list[str]:
        return list(dict.fromkeys(uri for item in self.objects for uri in item.uris()))


class DatasetAll(_Combination):
    """Met when every part is met."""

    key = "all"

    def __and__(self, other: Condition) -> DatasetAll:
        return DatasetAll(*self.objects, other)


class DatasetAny(_Combination):
    """Met when any part is met."""

    key = "any"

    def __or__(self, other: Condition) -> DatasetAny:
        return DatasetAny(*self.objects, other)


def condition(schedule: Any) -> Condition | None:
    """The dataset condition a DAG's `schedule` argument states, or None when it states none.
    A single dataset is stated as all of one, so that the condition's wire form is always an
    object (the contract's `dataset_expression`)."""
    if isinstance(schedule, Dataset):
        return DatasetAll(schedule)
    if isinstance(schedule, Condition):
        return schedule
    if isinstance(schedule, (list, tuple, set, frozenset)):
        items = list(schedule)
        if items and all(isinstance(item, Condition) for item in items):
            return DatasetAll(*items)
        if items:
            raise TypeError("a schedule given as a list must list Datasets only")
        raise ValueError("a schedule given as a list needs at least one Dataset")
    return None


def outlets(items: Iterable[Any] | None) -> list[Dataset]:
    result = list(items or [])
    for item in result:
        if not isinstance(item, Dataset):
            raise TypeError(f"outlets must be Datasets, not {type(item).__name__}")
    return list(dict.fromkeys(result))


def is_met(expression: Any, updated: set[str]) -> bool:
    """Whether a stored condition (its wire form) is met by the updated dataset URIs."""
    if isinstance(expression, str):
        return expression in updated
    if "all" in expression:
        return all(is_met(item, updated) for item in expression["all"])
    return any(is_met(item, updated) for item in expression["any"])


def expression_uris(expression: Any) -> list[str]:
    if isinstance(expression, str):
        return [expression]
    items = expression.get("all", expression.get("any", []))
    return list(dict.fromkeys(uri for item in items for uri in expression_uris(item)))
