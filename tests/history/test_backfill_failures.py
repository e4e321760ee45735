"""Bad surroundings: a read-only database, a full disk under the status file.

Both need root (mount): the full disk is a 32 KiB tmpfs mounted as RUNTIME_DIR and filled up
while the backfill runs; the read-only SQLite database is its directory bind-mounted read-only,
the read-only PostgreSQL one `default_transaction_read_only`.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

from history_truth import DAYS, row_count
from read_only_database import mount, read_only
from script_runs import run_cli, start_cli

from lib.runtime.files import read_json
from lib.simulator import SimulatorServer
from lib.storage.engine import database

BACKFILL = ["scripts/unified_historical_backfill.py", "--days", str(DAYS), "--parallel"]


def test_read_only_database_one_line_exit_2_no_data_lost(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    assert run_cli([*BACKFILL, "--exchanges", "okx"], sim_env).returncode == 0
    with database(url=db_url) as engine:
        before = row_count(engine)
    assert before > 0

    with read_only(db_url):
        failed = run_cli([*BACKFILL, "--exchanges", "binance"], sim_env)
    assert failed.returncode == 2
    line = failed.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("unified_historical_backfill.py: error: ")
    assert ("read-only" in line) or ("cannot be opened" in line)

    with database(url=db_url) as engine:
        assert row_count(engine) == before
    # and once writable again, the job simply runs
    assert run_cli([*BACKFILL, "--exchanges", "binance"], sim_env).returncode == 0


def test_full_disk_for_the_status_file(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    run_dir = Path(sim_env["RUNTIME_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    mount("-t", "tmpfs", "-o", "size=32k", "tmpfs", str(run_dir))
    try:
        (run_dir / "filler1").write_bytes(b"\0" * 4096)
        sim.set_faults("latency=150ms")
        proc = start_cli(BACKFILL, sim_env)
        status_path = run_dir / ".unified_backfill.status"
        deadline = time.monotonic() + 30
        while not status_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert status_path.exists()
        with open(run_dir / "filler2", "wb", buffering=0) as handle:  # take every byte that is left
            try:
                while True:
                    handle.write(b"\0" * 1024)
                    os.fsync(handle.fileno())
            except OSError as e:
                assert e.errno == errno.ENOSPC
        _out, err = proc.communicate(timeout=90)
        sim.set_faults(None)
        assert proc.returncode == 2, err
        line = err.strip().splitlines()[-1]
        assert line == (f"unified_historical_backfill.py: error: cannot write {status_path}: "
                        "No space left on device")
        assert "Traceback" not in err

        (run_dir / "filler1").unlink()
        (run_dir / "filler2").unlink()
        again = run_cli(BACKFILL, sim_env)
        assert again.returncode == 0, again.stderr
        status = read_json(status_path)
        assert status is not None and status["state"] == "completed"
        assert status["overall"]["completeness"] == 100.0
        assert status["overall"]["records"] == 0  # the first run's rows were all kept
    finally:
        subprocess.run(["umount", str(run_dir)], check=True)
