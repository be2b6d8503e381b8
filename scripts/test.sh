#!/usr/bin/env bash
# Runs the whole suite on SQLite, then again on PostgreSQL when one answers.
set -uo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}"

# Tests need a real Redis: use the one at TEST_REDIS_URL, or start ours under var/.
REDIS_URL="$TEST_REDIS_URL" .venv/bin/python run.py ensure-redis || exit 1

ran=()
status=0
run_suite() {
  local backend=$1; shift
  echo "== test suite on $backend =="
  YUCREDIT_TEST_BACKEND=$backend .venv/bin/python -m pytest "$@"
  local rc=$?
  ran+=("$backend: $( [ $rc -eq 0 ] && echo passed || echo "FAILED (exit $rc)")")
  [ $rc -eq 0 ] || status=1
}

run_suite sqlite "$@"

if [ -n "${TEST_POSTGRES_URL:-}" ] || .venv/bin/python - "$PG_URL" <<'PY'
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
then
  TEST_POSTGRES_URL="$PG_URL" run_suite postgres "$@"
else
  ran+=("postgres: not run (nothing answers at $PG_URL; set TEST_POSTGRES_URL)")
fi

echo "== backends =="
printf '  %s\n' "${ran[@]}"
exit $status
