"""System: the running whole that `start.py` supervises, and the ways to stop parts of it.

Owns start.py's state file and its single-instance lock (`state`), telling a recorded process
from a later one that reused its pid and stopping it (`processes`), starting and stopping the
history backfill on request (`backfill`: the API's and terminal dashboard's B and X), stopping
everything start.py runs through its state file (`shutdown`: `stop_system` for
`shutdown_dashboard.py`; `request_shutdown`, which runs that detached and answers at once, for
`POST /api/shutdown`), the environment children get (`environment`), and the supervisor
itself (`children`: what it runs, `startup`: the checks before it runs anything, `supervisor`:
restarts with back-off, crash limit, stop).
Children are separate programs (scripts, `python -m lib.api`, `python -m lib.simulator`)
started as subprocesses: nothing here imports the collector, the API or the simulator.
May import: `config`, `lib.errors`, `lib.timeutils`, `lib.runtime`, `lib.storage`, `lib.history`
(completeness and the history locks).
"""
