#!/usr/bin/env bash
# Runs the whole suite on SQLite and, when one answers, on PostgreSQL. The two backends run side by
# side (each with its own Redis database and temporary folder): much of the suite waits on
# subprocesses, browsers and sockets, so two runs share two cores well. YUCREDIT_TEST_SERIAL=1 runs
# them one after the other, with live output.
set -uo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_BASE="${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}"
# The PostgreSQL run gets the next Redis database number after the SQLite run's.
REDIS_DB=${REDIS_BASE##*/}
REDIS_PG="${REDIS_BASE%/*}/$((REDIS_DB + 1))"
LOGS=var/test-logs
mkdir -p "$LOGS"

# Tests need a real Redis: use the one at TEST_REDIS_URL, or start ours under var/.
REDIS_URL="$REDIS_BASE" .venv/bin/python run.py ensure-redis || exit 1

pg_answers() {
  [ -n "${TEST_POSTGRES_URL:-}" ] && return 0
  .venv/bin/python - "$PG_URL" <<'PY'
import asyncio, sys
import asyncpg
async def main() -> None:
    conn = await asyncio.wait_for(asyncpg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1)), 3)
    await conn.close()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

# run_suite BACKEND REDIS_URL [pytest args...]: runs one backend, its output to stdout.
run_suite() {
  local backend=$1 redis=$2; shift 2
  echo "== test suite on $backend =="
  local pg=()
  [ "$backend" = postgres ] && pg=(TEST_POSTGRES_URL="$PG_URL")
  env YUCREDIT_TEST_BACKEND="$backend" TEST_REDIS_URL="$redis" "${pg[@]}" \
    .venv/bin/python -m pytest --basetemp="$LOGS/tmp-$backend" "$@"
}

backends=(sqlite)
pg_answers && backends+=(postgres)
declare -A redis_for=([sqlite]=$REDIS_BASE [postgres]=$REDIS_PG)
declare -A rc

start=$(date +%s)
if [ "${YUCREDIT_TEST_SERIAL:-}" = 1 ] || [ ${#backends[@]} -eq 1 ]; then
  for b in "${backends[@]}"; do
    run_suite "$b" "${redis_for[$b]}" "$@"
    rc[$b]=$?
  done
else
  declare -A pid
  for b in "${backends[@]}"; do
    run_suite "$b" "${redis_for[$b]}" "$@" >"$LOGS/$b.log" 2>&1 &
    pid[$b]=$!
  done
  echo "== running ${backends[*]} side by side; logs in $LOGS/ =="
  for b in "${backends[@]}"; do
    wait "${pid[$b]}"
    rc[$b]=$?
  done
  for b in "${backends[@]}"; do cat "$LOGS/$b.log"; done
fi

status=0
echo "== backends ($(( $(date +%s) - start )) s) =="
for b in "${backends[@]}"; do
  if [ "${rc[$b]}" -eq 0 ]; then echo "  $b: passed"; else echo "  $b: FAILED (exit ${rc[$b]})"; status=1; fi
done
[[ " ${backends[*]} " == *" postgres "* ]] ||
  echo "  postgres: not run (nothing answers at $PG_URL; set TEST_POSTGRES_URL)"
exit $status
