"""A funding interval read from the settled rows themselves: the step of their schedule.

Venues that publish no interval field (Lighter, Pacifica) still show it in their history: rows
sit on a grid one interval apart. Missing settlements only leave wider gaps, so the smallest
gap between consecutive settlements is the step; a page of one row shows none (None: the caller
keeps what it knew).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import pairwise

from lib.timeutils import normalise_settlement


def schedule_hours(times: Iterable[datetime]) -> float | None:
    """The smallest gap in hours between distinct settlements (normalised to the hour), or
    None when fewer than two distinct settlements are given."""
    settled = sorted({normalise_settlement(t) for t in times})
    gaps = [(b - a).total_seconds() / 3600 for a, b in pairwise(settled)]
    return min(gaps) if gaps else None
