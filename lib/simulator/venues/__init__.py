"""One module per simulated exchange, named by its id (the URL's first part); this is the registry.

Every module in this package except `base` is a venue: `<id>.py` defines one `Venue` subclass
with `name = "<id>"` and its facts as class attributes (see `base.Venue`). `VENUES` is built by
scanning the package, in alphabetical order of the ids, so adding an exchange is adding its
module: no list to edit. The simulator never imports `lib.exchanges`; a test checks that this
registry and the adapters' (`config.settings.SUPPORTED_EXCHANGES`) name the same exchanges.
"""

from __future__ import annotations

import importlib
import pkgutil

from lib.simulator.venues.base import Venue

NOT_VENUES = frozenset({"base"})  # modules of this package that hold no exchange


def venue_class(module_name: str) -> type[Venue]:
    """The venue class `lib.simulator.venues.<module_name>` defines; errors name what is wrong."""
    module = importlib.import_module(f"{__name__}.{module_name}")
    found = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Venue) and obj.__module__ == module.__name__
    ]
    if len(found) != 1 or found[0].name != module_name:
        raise TypeError(
            f"lib/simulator/venues/{module_name}.py must define one Venue subclass with "
            f"name = {module_name!r}; found {[c.__name__ for c in found]}"
        )
    cls = found[0]
    missing = cls.missing_facts()
    if missing:
        raise TypeError(f"venue {module_name!r} ({cls.__name__}) lacks facts: {', '.join(missing)}")
    return cls


def discover() -> dict[str, type[Venue]]:
    """Every venue module in this package, by exchange id, in alphabetical order."""
    names = sorted(
        m.name for m in pkgutil.iter_modules(__path__)
        if m.name not in NOT_VENUES and not m.name.startswith("_")
    )
    return {name: venue_class(name) for name in names}


VENUES: dict[str, type[Venue]] = discover()
EXCHANGES: tuple[str, ...] = tuple(VENUES)

__all__ = ["EXCHANGES", "VENUES", "Venue", "discover", "venue_class"]
