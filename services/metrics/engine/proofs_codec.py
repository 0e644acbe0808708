"""The last audit's proofs as bytes, so that a restarted metrics service starts from them (``audit.Proofs``).

A running service hands each audit's feasible points to the next in memory; stored with the published table
(``services/metrics/proofs_store.py``), they spare a restart's first audit the LPs a refresh would not need. The
format is NumPy's compressed ``.npz`` (arrays only, read back with ``allow_pickle=False``: stored bytes never run code):

- ``format``: ``FORMAT``, the layout below; another number is refused;
- ``strings``: every distinct text of the quantities (a NumPy unicode array), and ``names``: per quantity
  the index in ``strings`` of its indicator, period kind, category, slice dimension, slice value and part;
  ``periods``: per quantity its period (days since 1970-01-01);
- ``sizes``: the number of quantities each point moves; ``index`` and ``delta``: the points' moved quantities and how
  far, one point after the other.

``decode`` checks what it reads (shapes, indices in range, finite moves) and raises ``ValueError`` on what it cannot
read; a damaged byte of a payload whose checksum NumPy does not read can still decode as other numbers. Either way
the points are tried against the new table's relations (nothing in them is trusted), so a damaged or foreign blob
costs the LPs it would have spared, never a wrong table. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from datetime import date, timedelta
from typing import Final

import numpy as np
from numpy.lib.npyio import NpzFile

from .audit import Proofs, Quantity

FORMAT: Final = 1
_EPOCH: Final = date(1970, 1, 1)
_ARRAYS: Final = frozenset({"format", "strings", "names", "periods", "sizes", "index", "delta"})


def encode(proofs: Proofs) -> bytes:
    """``proofs`` in the format above, deflated (a point moves many cells by the same few amounts)."""
    table: dict[str, int] = {}
    names = np.array(
        [
            [table.setdefault(text, len(table)) for text in (ind, kind, cat, dim, value, part)]
            for (ind, kind, _, cat), (dim, value), part in proofs.quantities
        ],
        dtype=np.int32,
    ).reshape(-1, 6)
    periods = np.array([(period - _EPOCH).days for (_, _, period, _), _, _ in proofs.quantities], dtype=np.int32)
    sizes = np.array([len(index) for index, _ in proofs.moves], dtype=np.int64)
    index = np.concatenate([np.asarray(i, dtype=np.int32) for i, _ in proofs.moves] or [np.zeros(0, np.int32)])
    delta = np.concatenate([np.asarray(d, dtype=np.float64) for _, d in proofs.moves] or [np.zeros(0)])
    out = io.BytesIO()
    np.savez_compressed(
        out,
        format=np.array([FORMAT], dtype=np.int64),
        strings=np.array(list(table), dtype=np.str_),
        names=names,
        periods=periods,
        sizes=sizes,
        index=index,
        delta=delta,
    )
    return out.getvalue()


def decode(data: bytes) -> Proofs:
    """The ``Proofs`` ``encode`` wrote; ``ValueError`` saying what is wrong with anything else."""
    try:
        found = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(found, NpzFile):
            raise ValueError("not a proofs blob: one array, not an .npz")
        with found:
            if set(found.files) != _ARRAYS:
                raise ValueError(f"not a proofs blob: arrays {sorted(found.files)}")
            arrays = {name: found[name] for name in _ARRAYS}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError) as exc:  # not an .npz, or damaged
        raise ValueError(f"not a proofs blob: {exc}") from exc
    if arrays["format"].tolist() != [FORMAT]:
        raise ValueError(f"proofs format {arrays['format'].tolist()}, this release reads [{FORMAT}]")
    strings, names, periods = arrays["strings"], arrays["names"], arrays["periods"]
    sizes, index, delta = arrays["sizes"], arrays["index"], arrays["delta"]
    if strings.dtype.kind != "U" or strings.ndim != 1:
        raise ValueError("proofs: the strings are not a list of texts")
    n = len(periods)
    if names.shape != (n, 6) or periods.ndim != 1 or sizes.ndim != 1 or index.shape != delta.shape or index.ndim != 1:
        raise ValueError("proofs: arrays of mismatched shapes")
    for name, array in (("names", names), ("periods", periods), ("sizes", sizes), ("index", index)):
        if array.dtype.kind not in "iu":
            raise ValueError(f"proofs: {name} are not integers")
    if delta.dtype.kind != "f" or not np.isfinite(delta).all():
        raise ValueError("proofs: moves are not finite numbers")
    if (names < 0).any() or (names >= len(strings)).any() or (index < 0).any() or (index >= n).any():
        raise ValueError("proofs: an index out of range")
    if (sizes < 0).any() or int(sizes.sum()) != len(index):
        raise ValueError("proofs: point sizes do not add up to the moves")
    try:
        days = [_EPOCH + timedelta(days=int(d)) for d in periods.tolist()]
    except OverflowError as exc:
        raise ValueError("proofs: a period out of range") from exc
    texts = strings.tolist()
    quantities: list[Quantity] = [
        ((texts[i], texts[k], day, texts[c]), (texts[d], texts[v]), texts[p])
        for (i, k, c, d, v, p), day in zip(names.tolist(), days, strict=True)
    ]
    cuts = np.cumsum(sizes)[:-1]
    moves = tuple(zip(np.split(index.astype(np.int32), cuts), np.split(delta.astype(np.float64), cuts), strict=True))
    if not len(sizes):
        moves = ()  # np.split of nothing is one empty part
    return Proofs(tuple(quantities), moves)
