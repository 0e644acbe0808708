"""Why an event was refused.

Every refusal is one ``EventError``: a bad message, never retried. ``code`` says which check failed::

    too_large        the raw message is bigger than MAX_PAYLOAD_BYTES (checked before parsing)
    invalid_utf8     the bytes are not UTF-8
    malformed_json   the text is not JSON (truncated, bad escape, lone surrogate, NaN or Infinity, ...)
    duplicate_key    one JSON object names a key twice, at any depth (never resolved first- or last-wins)
    unknown_type     ``event_type`` names no family.name in the registry
    unknown_version  the family.name is known, the version is not
    invalid          the JSON does not satisfy the type's model (field path + reason in ``message``)
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import ValidationError

from schemas.envelope import STRING_FORMS

ErrorCode = Literal[
    "malformed_json", "invalid_utf8", "duplicate_key", "unknown_type", "unknown_version", "invalid", "too_large"
]

ERROR_CODES: Final[tuple[ErrorCode, ...]] = (
    "malformed_json",
    "invalid_utf8",
    "duplicate_key",
    "unknown_type",
    "unknown_version",
    "invalid",
    "too_large",
)

_MAX_REASONS: Final = 10

# Pydantic's wording for these is generic; the contract's wording is clearer to an upstream team.
_MESSAGES: Final[dict[str, str]] = {
    "none_required": "must be null or absent for this event type",
    "extra_forbidden": "unknown field (not part of the contract)",
    "missing": "required field is missing",
}


class EventError(Exception):
    """A refused event: ``code``, a readable ``message``, the first failing ``field_path``
    (``data.hire_date``; ``""`` for the whole message), and ``event_type`` / ``event_id`` when readable.

    Treat instances as immutable values; ``validate_many`` returns them instead of raising.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field_path: str = "",
        event_type: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field_path = field_path
        self.event_type = event_type
        self.event_id = event_id

    def __repr__(self) -> str:
        return f"EventError(code={self.code!r}, field_path={self.field_path!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventError) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.code, self.message, self.field_path, self.event_type, self.event_id)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """``("data", "changes", 0)`` → ``data.changes[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _reason(error: Any) -> str:
    path = format_loc(tuple(error["loc"])) or "(event)"
    message = _MESSAGES.get(error["type"], error["msg"])
    if error["type"] == "string_pattern_mismatch":
        message = STRING_FORMS.get(error.get("ctx", {}).get("pattern"), message)
    return f"{path}: {message}"


def from_validation_error(exc: ValidationError, *, event_type: str | None, event_id: str | None) -> EventError:
    """Turn a pydantic ``ValidationError`` into one ``invalid`` EventError naming every failing field."""
    errors = exc.errors(include_url=False, include_input=False)
    reasons = [_reason(e) for e in errors[:_MAX_REASONS]]
    if len(errors) > _MAX_REASONS:
        reasons.append(f"... and {len(errors) - _MAX_REASONS} more")
    return EventError(
        "invalid",
        "; ".join(reasons),
        field_path=format_loc(tuple(errors[0]["loc"])) if errors else "",
        event_type=event_type,
        event_id=event_id,
    )
