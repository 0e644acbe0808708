"""The last audit's proofs as bytes (engine/proofs_codec.py): read back as written, and anything else refused."""

from __future__ import annotations

import io
import pickle
from datetime import date
from typing import Any

import numpy as np
import pytest

from services.metrics.engine.audit import Proofs, audit_hidden, audit_table
from services.metrics.engine.proofs_codec import FORMAT, decode, encode
from tests.unit.test_engine_audit import AS_OF, JAN, ORG, _hires

PROOFS = Proofs(
    (
        (("hires", "month", JAN, ""), ("gender", "female"), "v"),
        (("hires", "month", JAN, ""), ("gender", "male"), "v"),
        (("separations_rolling12", "month", date(2023, 12, 1), "voluntary"), ("org", "S-区-01"), "num"),
    ),
    (
        (np.array([0, 1], dtype=np.int32), np.array([2.5, -2.5])),
        (np.array([2], dtype=np.int32), np.array([-7.0])),
    ),
)


def _npz(**arrays: np.ndarray) -> bytes:
    out = io.BytesIO()
    save: Any = np.savez  # its stubs take the first keyword for allow_pickle
    save(out, **arrays)
    return out.getvalue()


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as found:
        return {name: found[name] for name in found.files}


def test_proofs_read_back_as_written() -> None:
    back = decode(encode(PROOFS))
    assert back.quantities == PROOFS.quantities
    assert len(back.moves) == len(PROOFS.moves)
    for (index, delta), (was_index, was_delta) in zip(back.moves, PROOFS.moves, strict=True):
        assert index.dtype == np.int32 and delta.dtype == np.float64
        assert index.tolist() == was_index.tolist() and delta.tolist() == was_delta.tolist()
    empty = decode(encode(Proofs()))
    assert empty.quantities == () and empty.moves == ()


def test_an_audit_from_decoded_proofs_reuses_them_as_from_the_originals() -> None:
    first = _hires(female=1, male=4, total=5)
    report = audit_table(first, ORG, AS_OF)
    assert report.proofs is not None and report.proofs.moves
    again = _hires(female=1, male=4, total=5)
    stored = decode(encode(report.proofs))
    next_report = audit_table(again, ORG, AS_OF, prior=audit_hidden(first.rows()), proofs=stored)
    assert next_report.passed and next_report.lps == 0 and next_report.reused == 2
    assert [r.suppressed for r in again.rows()] == [r.suppressed for r in first.rows()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: {**a, "format": np.array([FORMAT + 1])}, "format"),
        (lambda a: {k: v for k, v in a.items() if k != "delta"}, "not a proofs blob"),
        (lambda a: {**a, "index": a["index"] + 100}, "out of range"),
        (lambda a: {**a, "names": -a["names"] - 1}, "out of range"),
        (lambda a: {**a, "delta": a["delta"] * np.inf}, "finite"),
        (lambda a: {**a, "sizes": a["sizes"] + 1}, "add up"),
        (lambda a: {**a, "periods": a["periods"][:1]}, "shapes"),
        (lambda a: {**a, "index": a["index"].astype(np.float64)}, "integers"),
        (lambda a: {**a, "periods": np.full_like(a["periods"], 2**30)}, "period"),
    ],
    ids=["format", "missing", "index", "name", "infinite", "sizes", "shapes", "float index", "period"],
)
def test_damaged_proofs_are_refused_with_the_reason(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        decode(_npz(**change(_arrays(encode(PROOFS)))))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not proofs at all",
        pickle.dumps({"moves": [1, 2]}),  # a pickle is never loaded (it could run code)
        _npz(strings=np.array([{"x": 1}], dtype=object)),  # nor an array of objects
        encode(PROOFS)[:200],  # cut short
    ],
    ids=["empty", "text", "pickle", "objects", "truncated"],
)
def test_what_is_not_proofs_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        decode(data)


def test_one_array_alone_is_not_proofs() -> None:
    out = io.BytesIO()
    np.save(out, np.arange(3))
    with pytest.raises(ValueError, match="one array"):
        decode(out.getvalue())


def test_a_damaged_byte_anywhere_is_refused_or_read_as_some_proofs() -> None:
    """Every byte of a blob flipped in turn: ``decode`` raises ``ValueError`` or returns proofs (a payload byte the
    archive's checksum is not read for can change a number: the next audit checks every point anyway), never
    another error that would stop the service."""
    data = encode(PROOFS)
    refused = 0
    for at in range(len(data)):
        damaged = bytearray(data)
        damaged[at] ^= 0xFF
        try:
            back = decode(bytes(damaged))
        except ValueError:
            refused += 1
        else:
            assert isinstance(back, Proofs)
    assert refused > len(data) // 2
