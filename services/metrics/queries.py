"""The query strings of the read API as pydantic models: one per route that takes parameters. Each model is the
one statement of its route's parameters: `parse` validates a query string with it (any refusal is a `BadRequest`
whose body names the parameter, says why and lists the accepted values), and `openapi_parameters` derives the
route's documented parameters from its JSON Schema, so the document cannot drift from the checks.

A query string is handed to a model as `{name: [every value given]}`: list fields take the list, single fields
(`Once`) refuse more than one value. Unknown names are refused (`extra="forbid"`) where the route always did so.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from starlette.datastructures import QueryParams

from .catalog import BY_NAME, DIMENSIONS, PERIOD_KINDS

__all__ = [
    "DEFAULT_LIMIT",
    "FORMATS",
    "KEY",
    "MAX_LIMIT",
    "BadRequest",
    "FacetsQuery",
    "IndicatorsQuery",
    "OneOf",
    "decode_cursor",
    "encode_cursor",
    "openapi_parameters",
    "parameter_names",
    "parse",
]

KEY: Final = ("indicator", "period_kind", "dimension", "slice", "category", "period")
"""The indicators table's ORDER BY key: the order of rows and what a cursor holds."""
DEFAULT_LIMIT: Final = 10_000
MAX_LIMIT: Final = 100_000
FORMATS: Final = ("json", "csv")
SEE: Final = {"indicator": "/indicators/catalog"}
"""Where the long accepted lists are described, added to a refusal of the parameter."""
NOT_A_CURSOR: Final = "not a cursor this API gave out; take `next` of the previous page"


class BadRequest(ValueError):
    """A query string the API cannot answer: which parameter, why, and the values it accepts (if a list)."""

    def __init__(self, parameter: str, message: str, accepted: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.accepted = list(accepted)

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"error": str(self), "parameter": self.parameter}
        if self.accepted:
            answer["accepted"] = self.accepted
        return answer


@dataclass(frozen=True, slots=True)
class OneOf:
    """`Annotated[str, OneOf(values)]`: a string from a closed list known at run time (the catalog's names),
    validated and documented as an enum."""

    accepted: tuple[str, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.literal_schema(list(self.accepted))


def _once(value: Any) -> Any:
    if isinstance(value, list):
        if len(value) > 1:
            raise PydanticCustomError("repeated", "given {count} times, accepted once", {"count": len(value)})
        return value[0]
    return value


Once: Final = BeforeValidator(_once)
"""A parameter accepted at most once."""


def encode_cursor(key: tuple[Any, ...]) -> str:
    """The opaque token of a page's last row: urlsafe base64 (unpadded) of `{"after": [...KEY values]}`."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = json.dumps({"after": values}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[Any, ...]:
    """`encode_cursor`'s key back (the period as a date); anything else is a BadRequest."""
    bad = BadRequest("cursor", f"cursor: {NOT_A_CURSOR}")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw)["after"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise bad from None
    if not (isinstance(values, list) and len(values) == len(KEY) and all(isinstance(v, str) for v in values)):
        raise bad
    try:
        return (*values[:-1], date.fromisoformat(values[-1]))
    except ValueError:
        raise bad from None


def _cursor(token: str | None) -> str | None:
    if token is not None:
        try:
            decode_cursor(token)
        except BadRequest:
            raise PydanticCustomError("cursor", NOT_A_CURSOR) from None
    return token


_CURSOR_EXAMPLE: Final = encode_cursor(("hires", "month", "all", "all", "", date(2024, 1, 1)))
Indicator = Annotated[str, OneOf(tuple(BY_NAME))]


class IndicatorsQuery(BaseModel):
    """`GET /indicators`: filters (a list parameter matches any of its values), the period range, the format and
    the page (`limit` rows after `cursor`). Any other parameter name is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: list[Indicator] = Field(default=[], description="indicator name(s)", examples=[["hires"]])
    period_kind: list[Annotated[str, OneOf(tuple(PERIOD_KINDS))]] = Field(
        default=[], description="period kind(s)", examples=[["month"]]
    )
    dimension: list[Annotated[str, OneOf(tuple(DIMENSIONS))]] = Field(
        default=[], description="slice dimension(s)", examples=[["all"]]
    )
    slice: list[str] = Field(
        default=[], description="slice value(s): an org unit id (see /org-units) or a code", examples=[["all"]]
    )
    category: list[str] = Field(
        default=[], description="category value(s); the empty category is the total", examples=[[""]]
    )
    from_: Annotated[date | None, Once] = Field(
        default=None, alias="from", description="first period (inclusive)", examples=["2024-01-01"]
    )
    to: Annotated[date | None, Once] = Field(
        default=None, description="last period (inclusive)", examples=["2024-12-01"]
    )
    format: Annotated[Literal["json", "csv"], Once] = Field(
        default="json", description="answer format", examples=["csv"]
    )
    limit: Annotated[int, Once] = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        le=MAX_LIMIT,
        description=f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
        examples=[1000],
    )
    cursor: Annotated[str | None, Once, AfterValidator(_cursor)] = Field(
        default=None,
        description="opaque: where the previous page ended (from `next` or Link)",
        examples=[_CURSOR_EXAMPLE],
    )

    def after(self) -> tuple[Any, ...] | None:
        """The KEY the cursor holds (rows after it), or None for the first page."""
        return None if self.cursor is None else decode_cursor(self.cursor)


class FacetsQuery(BaseModel):
    """`GET /indicators/facets`: the one indicator whose facets the pages want; other names are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    indicator: Annotated[Indicator, Once] = Field(description="indicator name", examples=["hires"])


UnitScope = Literal["all", "published"]
UNIT_SCOPES: Final = get_args(UnitScope)


class OrgUnitsQuery(BaseModel):
    """`GET /org-units`: every unit (the default), or the levels that get org slices and those above them, what
    the analyst pages ask for (api.unit_levels). Any other parameter name is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Annotated[UnitScope, Once] = Field(
        "all",
        description="all: every unit; published: the units of the levels that get org slices (METRICS_ORG_LEVELS)"
        " and of every level above them, which is what the analyst pages ask for",
    )


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], params: QueryParams) -> M:
    """A query string validated by `model`; a refusal is a BadRequest (the first failing parameter)."""
    try:
        return model.model_validate({name: params.getlist(name) for name in params})
    except ValidationError as exc:
        raise refusal(model, exc) from None


def parameter_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The parameter names `model` accepts (aliases where a name is a Python keyword), in declaration order."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


def refusal(model: type[BaseModel], exc: ValidationError) -> BadRequest:
    """`model`'s ValidationError as one BadRequest: every unknown name together, else the first failing
    parameter with every error it has, in the API's wording, and the values its schema accepts."""
    errors = exc.errors(include_url=False)
    unknown = sorted({str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"})
    if unknown:
        names = parameter_names(model)
        message = f"unknown parameter(s): {', '.join(map(repr, unknown))}; accepted: {', '.join(names)}"
        return BadRequest(unknown[0], message, names)
    name = str(errors[0]["loc"][0])
    schema = _properties(model)[name]
    accepted = schema.get("enum") or schema.get("items", {}).get("enum") or []
    reason = _reason([e for e in errors if e["loc"][0] == name], schema, accepted)
    see = f"; see {SEE[name]}" if name in SEE and accepted else ""
    return BadRequest(name, f"{name}: {reason}{see}", accepted)


@functools.cache
def _properties(model: type[BaseModel]) -> dict[str, Any]:
    properties: dict[str, Any] = model.model_json_schema()["properties"]
    return properties


def _reason(errors: list[Any], schema: dict[str, Any], accepted: list[str]) -> str:
    first = errors[0]
    kind: str = first["type"]
    if kind == "literal_error":
        unknown = [e["input"] for e in errors if e["type"] == "literal_error"]
        return f"unknown value(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be between {schema['minimum']} and {schema['maximum']}, got {first['input']}"
    if kind.startswith("int_"):
        return f"expected a whole number, got {first['input']!r}"
    if kind.startswith("date_"):
        return f"expected a date YYYY-MM-DD, got {first['input']!r}"
    if kind == "missing":
        return "required"
    return str(first["msg"])


def openapi_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """`model`'s fields as OpenAPI 3.1 query parameters: the schema of each from `model_json_schema`, a list
    field as an exploded form array, an optional field without its `null` (absent is how it is not given)."""
    document = model.model_json_schema()
    required = set(document.get("required", ()))
    parameters = []
    for name, field_schema in document["properties"].items():
        schema = _without_null(field_schema)
        schema.pop("title", None)
        description = schema.pop("description", "")
        examples = schema.pop("examples", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": description,
            "schema": schema,
        }
        if schema.get("type") == "array":
            parameter |= {"style": "form", "explode": True}
        if examples:
            parameter["example"] = examples[0]
        parameters.append(parameter)
    return parameters


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if options is None:
        return dict(schema)
    kept = [option for option in options if option != {"type": "null"}]
    merged = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**kept[0], **merged} if len(kept) == 1 else {**merged, "anyOf": kept}
