"""The fuzz tests' budgets: HYPOTHESIS_PROFILE picks `bounded` (the default: what `make test` runs, well under a
minute) or `long` (`make fuzz`). No example database is written; a failure prints the blob that reproduces it
(`@reproduce_failure`)."""

from __future__ import annotations

import os
from typing import Final

from hypothesis import settings

PROFILES: Final = {"bounded": (200, 25), "long": (5_000, 300)}
"""Profile → (Hypothesis examples per property, Schemathesis examples per API operation and generation mode)."""
PROFILE: Final = os.environ.get("HYPOTHESIS_PROFILE", "bounded")
if PROFILE not in PROFILES:
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}; profiles: {', '.join(PROFILES)}")

for name, (examples, _) in PROFILES.items():
    settings.register_profile(name, max_examples=examples, deadline=None, database=None, print_blob=True)
settings.load_profile(PROFILE)

API_EXAMPLES: Final = PROFILES[PROFILE][1]
