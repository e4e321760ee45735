#!/usr/bin/env bash
# The whole pipeline against the built-in exchange simulator, no network needed:
# start the simulator, backfill DEMO_DAYS of history from all eight exchanges, collect one
# live snapshot, then show backfill completeness and the database. Run it via `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PORT=${DEMO_PORT:-8900}
DAYS=${DEMO_DAYS:-3}
export SIMULATOR_URL="http://127.0.0.1:${PORT}"
export DATABASE_URL="${DATABASE_URL:-sqlite:///${PWD}/data/demo.db}"

"$PY" -m lib.simulator --port "$PORT" --seed 42 &
simulator=$!
trap 'kill "$simulator" 2>/dev/null; wait "$simulator" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  "$PY" -c "import urllib.request as u; u.urlopen('${SIMULATOR_URL}/dydx/v4/time', timeout=1)" \
    2>/dev/null && break
  sleep 0.2
done

echo "== backfill: ${DAYS} days, all exchanges in parallel (database: ${DATABASE_URL})"
"$PY" scripts/unified_historical_backfill.py --days "$DAYS" --parallel
echo "== one live snapshot"
"$PY" scripts/collect_funding_rates.py --once
echo "== backfill status"
"$PY" check_backfill_status.py || true  # its exit code says complete/incomplete; shown above
echo "== database"
"$PY" database_tools.py status
