"""Slice keys: the (dimension, slice) cells a worker counts in on a day.

Age is resolved late: accumulators key it by birth year (pseudo-dimension ``birth_year``) and the period's
last-day year turns it into an age band, so one monthly pass serves months, years and rolling windows.
"""

from __future__ import annotations

from .orgs import OrgTree, SliceKey
from .spells import Spell, Worker

ALL: SliceKey = ("all", "all")
BIRTH = "birth_year"
AGE = "age_band"


AGE_BANDS: tuple[tuple[int, str], ...] = ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"))
"""Each band's exclusive upper age, in order; older workers are ``OLDEST``."""
OLDEST = ">=55"


def age_band(age: int) -> str:
    for upper, band in AGE_BANDS:
        if age < upper:
            return band
    return OLDEST


def band_key(key: SliceKey, age_year: int) -> SliceKey:
    """Map a ``birth_year`` pseudo-slice to its age band for a period ending in ``age_year``."""
    if key[0] != BIRTH:
        return key
    return (AGE, age_band(age_year - int(key[1])))


def worker_keys(org: OrgTree, worker: Worker, spell: Spell, unit: str, age_year: int | None) -> tuple[SliceKey, ...]:
    """All slices of ``worker`` in ``spell`` and ``unit``; age as birth year when ``age_year`` is None."""
    memo = (unit, spell.channel, worker.gender, worker.birth_year, age_year)
    keys = org.slice_memo.get(memo)
    if keys is None:
        keys = org.slice_memo[memo] = _worker_keys(org, memo)
    return keys


def _worker_keys(org: OrgTree, memo: tuple[str, str, str | None, int | None, int | None]) -> tuple[SliceKey, ...]:
    unit, channel, gender, birth_year, age_year = memo
    keys = [ALL, *org.unit_keys(unit), ("source_channel", channel)]
    if gender is not None:
        keys.append(("gender", gender))
    if birth_year is not None:
        if age_year is None:
            keys.append((BIRTH, str(birth_year)))
        else:
            keys.append((AGE, age_band(age_year - birth_year)))
    return tuple(keys)
