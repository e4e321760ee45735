"""UTC time helpers shared by adapters, collectors and integrity scripts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

HOUR_MS = 3_600_000


def from_ms(value: int | float | str) -> datetime:
    """Epoch milliseconds (number or numeric string) to an aware UTC datetime."""
    return datetime.fromtimestamp(int(float(value)) / 1000, tz=UTC)


def from_seconds(value: int | float | str) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(float(value), tz=UTC)


def from_iso(value: str) -> datetime:
    """ISO-8601 (with Z or an offset) to an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_ms(value: datetime) -> int:
    """An aware datetime to epoch milliseconds."""
    return round(value.timestamp() * 1000)


def normalise_settlement(value: datetime) -> datetime:
    """The scheduled settlement instant of a reported funding time.

    Every supported venue settles on the full hour and reports the time a few ms to seconds
    late (sometimes early), so rounding to the nearest hour makes one settlement one key.
    """
    ms = to_ms(value)
    return from_ms(((ms + HOUR_MS // 2) // HOUR_MS) * HOUR_MS)


def floor_to_interval(value: datetime, interval_hours: float) -> datetime:
    """The last settlement at or before `value` on a grid of `interval_hours` since the epoch."""
    step = int(interval_hours * HOUR_MS)
    return from_ms((to_ms(value) // step) * step)


def utcnow() -> datetime:
    return datetime.now(UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
