"""What ClickHouse keeps of a refused message: never a clear worker id. Pure; never raises on any input.

`ingest_rejects.payload` holds one of two forms (`payload_form`), and always the size (`payload_bytes`) and
SHA-256 (`payload_sha256`) of the bytes as sent:

    json      the message parsed as a JSON object of at most KEPT_MAX_BYTES: it is stored re-serialised, with
              the value of every `worker_id` key at any depth (also spelled `workerId`, `Worker-ID`, ...: case
              and non-letters ignored) replaced by its pseudonym (the HMAC `events` uses; a non-string value is
              keyed as its JSON text), and those clear ids, where they also occur inside other strings or keys
              of the message (ids of 4 characters or more), replaced by the pseudonym too.
    skeleton  anything else (not UTF-8, not JSON, not an object, too deep, larger than KEPT_MAX_BYTES): only the
              structure of its first SKELETON_CHARS characters — JSON punctuation, `true`/`false`/`null`, and
              object keys made of lower-case letters and `_` — with every other string and word shown as `…`.

The same clear ids are replaced in the row's reason, field path, event type and subject. The original bytes
go to the dead-letter destination (see `brokers/base.py`), which is where a replay takes them from.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from .pseudonymise import Pseudonymiser

KEPT_MAX_BYTES: Final = 1_048_576
"""The largest message whose content is kept (pseudonymised): NATS's default max_payload and Kafka's
default message size. Bigger ones arrive only over RabbitMQ or Redis; they keep a skeleton and their hash."""
SKELETON_CHARS: Final = 256
WORKER_ID: Final = "worker_id"
_SCRUB_MIN: Final = 4  # a clear id shorter than this is replaced as a value only, not inside other text
_KEY: Final = re.compile(r"[a-z][a-z_]{0,39}")
_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s{}\[\],:"]+|\s+|.', re.DOTALL)
_AFTER_KEY: Final = re.compile(r"\s*:")
_NOT_LETTERS: Final = re.compile("[^a-z]")
Replaced = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Kept:
    """The stored form of one refused message, and the clear ids it held (kept in memory only, never stored)."""

    form: str
    payload: str
    size: int
    sha256: str
    replaced: Replaced = field(default=(), repr=False)
    """(clear worker id, pseudonym) pairs found in the message, longest first."""

    def scrub(self, text: str) -> str:
        """`text` with the message's clear worker ids replaced by their pseudonyms, and valid UTF-8."""
        for clear, pseudonym in self.replaced:
            text = text.replace(clear, pseudonym)
        return _valid_utf8(text)


def keep(body: bytes, pseudonymise: Pseudonymiser | None) -> Kept:
    """What `ingest_rejects` stores of `body`; without a pseudonymiser, always the skeleton."""
    size, sha256 = len(body), hashlib.sha256(body).hexdigest()
    document = _object(body) if pseudonymise is not None and size <= KEPT_MAX_BYTES else None
    if document is not None and pseudonymise is not None:
        stored = _pseudonymised(document, pseudonymise)
        if stored is not None:
            text, replaced = stored
            return Kept("json", text, size, sha256, replaced)
    return Kept("skeleton", skeleton(body), size, sha256)


def skeleton(body: bytes, chars: int = SKELETON_CHARS) -> str:
    """The structure of the first `chars` characters of `body`, with no value in it (see the module doc)."""
    text = body[: chars * 4].decode("utf-8", errors="replace")[:chars]
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.startswith('"') and len(token) > 1 and token.endswith('"'):
            is_key = _KEY.fullmatch(token[1:-1]) and _AFTER_KEY.match(text, match.end())
            out.append(token if is_key else '"…"')
        elif token.isspace() or token in ("{", "}", "[", "]", ",", ":", "true", "false", "null"):
            out.append(token)
        else:
            out.append("…")
    return "".join(out)


def _object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8 / not JSON / an int too long to convert / nested too deep
        return None
    return document if isinstance(document, dict) else None


def _pseudonymised(document: dict[str, Any], pseudonymise: Pseudonymiser) -> tuple[str, Replaced] | None:
    try:
        ids = _worker_ids(document)
        replaced = tuple(sorted(((i, pseudonymise(_valid_utf8(i))) for i in ids), key=lambda p: (-len(p[0]), p[0])))
        scrubbable = tuple(p for p in replaced if len(p[0]) >= _SCRUB_MIN)
        stored = _replace(document, dict(replaced), scrubbable)
        text = json.dumps(stored, ensure_ascii=False)
        if _valid_utf8(text) is not text:  # lone surrogates: keep them as the JSON escapes they arrived as
            text = json.dumps(stored, ensure_ascii=True)
    except RecursionError:  # nested deeper than the interpreter walks: keep the skeleton
        return None
    return text, replaced


def _worker_ids(value: Any) -> set[str]:
    """The clear ids under every `worker_id` key, at any depth (iterative: depth is the sender's choice)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if _is_worker_key(key) and child is not None and child != "":
                    found.add(child if isinstance(child, str) else json.dumps(child, ensure_ascii=False))
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _is_worker_key(key: str) -> bool:
    return key == WORKER_ID or _NOT_LETTERS.sub("", key.lower()) == "workerid"


def _replace(value: Any, pseudonyms: dict[str, str], scrubbable: Replaced) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            if _is_worker_key(key) and child is not None and child != "":
                clear = child if isinstance(child, str) else json.dumps(child, ensure_ascii=False)
                out[key] = pseudonyms[clear]
            else:
                out[_scrub(key, scrubbable)] = _replace(child, pseudonyms, scrubbable)
        return out
    if isinstance(value, list):
        return [_replace(child, pseudonyms, scrubbable) for child in value]
    if isinstance(value, str):
        return _scrub(value, scrubbable)
    return value


def _scrub(text: str, replaced: Replaced) -> str:
    for clear, pseudonym in replaced:
        if clear in text:
            text = text.replace(clear, pseudonym)
    return text


def _valid_utf8(text: str) -> str:
    """`text` as ClickHouse can take it: a lone surrogate (from a JSON `\\ud800` escape) becomes `?`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8")
    return text
