"""Event type name → model, and the two ways in: ``parse_event`` (one message), ``validate_many`` (a batch).

Both check the size cap before parsing, inject the clock as validation context and refuse with ``EventError``.
Both refuse a JSON object that names a key twice, at any depth (pydantic alone keeps the last), and the
non-JSON constants ``NaN`` and ``Infinity``: ``parse_event`` with a second, full parse; ``validate_many``, for a
message that validates, by counting key tokens in its bytes (``_keys_plainly_unique``), parsing it again only
when the count cannot prove its keys unique (text with escapes, a value starting with a colon).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from schemas.correction import AmendedData, AmendedV1, RetractedV1
from schemas.envelope import MAX_PAYLOAD_BYTES, validation_context
from schemas.errors import ErrorCode, EventError, from_validation_error
from schemas.org import UnitChangedV1, UnitRegisteredV1
from schemas.staffing import GradeChangedV1, HiredV1, PaySetV1, TransferredV1
from schemas.training import TrainingCompletedV1
from schemas.turnover import SeparatedV1

AnyEvent = (
    UnitRegisteredV1
    | UnitChangedV1
    | HiredV1
    | GradeChangedV1
    | TransferredV1
    | PaySetV1
    | SeparatedV1
    | TrainingCompletedV1
    | RetractedV1
    | AmendedV1
)
"""Every concrete event model (plain union, for annotations and ``isinstance``)."""

Event = Annotated[AnyEvent, Field(discriminator="event_type")]
"""The same union, discriminated by ``event_type`` for fast validation."""

EVENT_ADAPTER: Final[TypeAdapter[AnyEvent]] = TypeAdapter(Event)

_TYPE_NAME: Final = re.compile(r"^(?P<base>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.(?P<version>v[1-9][0-9]*)$")


def _type_name(model: type[BaseModel]) -> str:
    (name,) = get_args(model.model_fields["event_type"].annotation)
    return str(name)


REGISTRY: Final[dict[str, type[BaseModel]]] = {_type_name(m): m for m in get_args(AnyEvent)}
"""Type name (``staffing.hired.v1``) → event model."""


class _Probe(BaseModel):
    """Reads only the envelope keys needed to route a message and to label its refusal."""

    model_config = ConfigDict(extra="ignore")
    event_type: Any = None
    event_id: Any = None


def _resolve_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def _check_size(raw: bytes | str) -> None:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_PAYLOAD_BYTES:
        raise EventError("too_large", f"message is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes")


def _undecodable(raw: bytes | str) -> EventError | None:
    if isinstance(raw, str):
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return EventError("invalid_utf8", f"message is not valid UTF-8: {exc.reason} at byte {exc.start}")
    return None


def _probe(raw: bytes | str) -> _Probe:
    try:
        return _Probe.model_validate_json(raw)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            raise _undecodable(raw) or EventError("malformed_json", f"message is not JSON: {error['msg']}") from None
        raise EventError("invalid", "message must be a JSON object") from None


class _Repeated(dict[str, Any]):
    """A parsed JSON object that named ``key`` more than once."""

    key: str = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    repeated = _Repeated(found)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            repeated.key = key
            break
        seen.add(key)
    return repeated


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (numbers must be finite)")


def _repeated_path(value: Any, path: str = "") -> str | None:
    """The path of the first repeated key, depth first in document order."""
    if isinstance(value, dict):
        if isinstance(value, _Repeated):
            return f"{path}.{value.key}" if path else value.key
        items: Any = ((f"{path}.{k}" if path else k, v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, child in items:
        found = _repeated_path(child, where)
        if found is not None:
            return found
    return None


def _check_keys(raw: bytes | str, event_type: str | None, event_id: str | None) -> None:
    """Refuse a key named twice in one object (any depth), and NaN / Infinity: a full parse, for the slow path."""
    try:
        tree = json.loads(raw, object_pairs_hook=_object, parse_constant=_not_a_number)
    except RecursionError:
        raise EventError("malformed_json", "message is not JSON: nested too deeply") from None
    except ValueError as exc:
        raise EventError(
            "malformed_json", f"message is not JSON: {exc}", event_type=event_type, event_id=event_id
        ) from None
    path = _repeated_path(tree)
    if path is not None:
        raise EventError(
            "duplicate_key",
            f"{path}: key appears more than once in one JSON object (repeated keys are refused, not resolved)",
            field_path=path,
            event_type=event_type,
            event_id=event_id,
        )


_JSON_SPACE: Final = b" \t\r\n"


def _keys_plainly_unique(raw: bytes, event: BaseModel) -> bool:
    """True only if the raw bytes of a validated event provably name no key twice; False: parse again to know.

    Without a backslash every ``"`` delimits a string, and once JSON whitespace is deleted a key's closing quote
    is followed at once by its colon. So the count of ``":`` is at least the number of keys written (a string
    value starting with a colon, or with whitespace then a colon, adds one), which is at least the number of
    distinct keys the models read. When the count equals that number, no key was written twice. One pass to
    delete and one to count cost less than a regular expression. (NaN and Infinity need no look here: no field
    of a validated event takes them.)
    """
    if b"\\" in raw:
        return False
    return raw.translate(None, _JSON_SPACE).count(b'":') == _distinct_keys(event)


def _all_required(model: type[BaseModel]) -> int | None:
    """The number of keys every valid event of the model has, when it has no optional field at any depth."""
    data: Any = model.model_fields["data"].annotation
    fields = [*model.model_fields.values(), *data.model_fields.values()]
    return len(fields) if all(f.is_required() for f in fields) and data is not AmendedData else None


def _distinct_keys(event: Any) -> int:
    fixed = _FIXED_KEYS.get(type(event))
    if fixed is not None:
        return fixed
    data = event.data  # every registered model has one, and (extra="forbid") reads no key it does not know
    count = len(event.model_fields_set) + len(data.model_fields_set)
    if type(data) is AmendedData:
        count += _json_keys(data.changes)
    return count


def _json_keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_json_keys(v) for v in value.values())
    if isinstance(value, list):
        return sum(_json_keys(v) for v in value)
    return 0


_FIXED_KEYS: Final = {m: n for m in REGISTRY.values() if (n := _all_required(m)) is not None}
"""Models whose events always name the same keys (staffing and training): their count, looked up, not counted."""


def _known_versions(base: str) -> list[str]:
    return sorted(name.rsplit(".", 1)[1] for name in REGISTRY if name.rsplit(".", 1)[0] == base)


def _lookup(event_type: Any, event_id: str | None) -> type[BaseModel]:
    if event_type is None:
        raise EventError("invalid", "event_type: required field is missing", field_path="event_type", event_id=event_id)
    if not isinstance(event_type, str):
        raise EventError("invalid", "event_type: must be a string", field_path="event_type", event_id=event_id)
    model = REGISTRY.get(event_type)
    if model is not None:
        return model
    raise _unknown(event_type, event_id)


def _unknown(event_type: str, event_id: str | None) -> EventError:
    match = _TYPE_NAME.match(event_type)
    versions = _known_versions(match["base"]) if match else []
    if match and versions:
        message = f"unknown version {match['version']} of {match['base']} (known: {', '.join(versions)})"
        code: ErrorCode = "unknown_version"
    else:
        form = "" if match else " (expected family.name.vN)"
        message = f"unknown event type {event_type!r}{form} (known: {', '.join(sorted(REGISTRY))})"
        code = "unknown_type"
    return EventError(code, message, field_path="event_type", event_type=event_type, event_id=event_id)


def parse_event(raw: bytes | str, *, now: datetime | None = None) -> Event:
    """Validate one raw JSON message against its registered type.

    Raises ``EventError`` (see ``schemas.errors`` for the codes). ``now`` is the injected clock for the
    "not in the future" bounds (default: the real UTC clock); it must be timezone-aware.
    """
    return _parse(raw, validation_context(_resolve_now(now)))


def _parse(raw: bytes | str, context: dict[str, Any]) -> Event:
    _check_size(raw)
    probe = _probe(raw)
    event_id = probe.event_id if isinstance(probe.event_id, str) else None
    _check_keys(raw, probe.event_type if isinstance(probe.event_type, str) else None, event_id)
    model = _lookup(probe.event_type, event_id)
    try:
        event: Event = model.model_validate_json(raw, context=context)  # type: ignore[assignment]
    except ValidationError as exc:
        raise from_validation_error(exc, event_type=probe.event_type, event_id=event_id) from None
    return event


def _validate_one(raw: bytes, context: dict[str, Any]) -> Event | EventError:
    if len(raw) > MAX_PAYLOAD_BYTES:
        return EventError("too_large", f"message is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes")
    try:
        event = EVENT_ADAPTER.validate_json(raw, context=context)
    except ValidationError:
        pass
    else:
        if _keys_plainly_unique(raw, event):
            return event
        try:  # escaped text, NaN in a note, ...: parse again to be sure
            _check_keys(raw, event.event_type, str(event.event_id))
        except EventError as error:
            return error
        return event
    # Slow path, failures only: re-run the single-message checks for a precise, identical error.
    try:
        return _parse(raw, context)
    except EventError as error:
        return error


def validate_many(raws: list[bytes], now: datetime | None = None) -> list[Event | EventError]:
    """Validate a batch in one pass per message through the discriminated-union adapter.

    Returns, in input order, the parsed event or the ``EventError`` refusing it; never raises for bad input.
    """
    context = validation_context(_resolve_now(now))
    return [_validate_one(raw, context) for raw in raws]
