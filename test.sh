#!/usr/bin/env bash
# Install and run the whole suite: on SQLite, then on PostgreSQL when CRM_DATABASE_URL points
# at one. Extra arguments go to pytest.
set -uo pipefail
CRM_REQUIREMENTS="requirements.txt requirements-dev.txt"
source "$(dirname "$0")/scripts/venv.sh"

if [ -z "${CRM_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is not installed: the browser tests will be skipped"
  fi
fi

# Two pytest-xdist workers (this project's machines have two cores; each worker has its own
# SQLite file or PostgreSQL database, see tests/conftest.py), whole modules per worker so a
# module's shared fixtures are built once. The browser tests each start a server and a
# Chromium of their own: they run afterwards, one at a time. CRM_TEST_WORKERS=0 runs
# everything in one process.
workers="${CRM_TEST_WORKERS:-2}"
run_suite() {
  local rc=0
  if [ "$workers" = "0" ]; then
    python -m pytest "$@" || rc=$?
  else
    python -m pytest -n "$workers" --dist loadfile -m "not browser" "$@" || rc=$?
    # Exit code 5: no browser test among the ones asked for.
    python -m pytest -m browser "$@"
    local browser=$?
    [ "$browser" = 0 ] || [ "$browser" = 5 ] || rc=$browser
  fi
  return $rc
}

pg_url="${CRM_DATABASE_URL:-}"
status=0
echo "== test suite on SQLite"
(unset CRM_DATABASE_URL; run_suite "$@") || status=$?

case "$pg_url" in
  postgresql*)
    echo "== test suite on PostgreSQL"
    CRM_DATABASE_URL="$pg_url" run_suite "$@" || status=$?
    ;;
  *)
    echo "PostgreSQL part skipped: set CRM_DATABASE_URL=postgresql+psycopg://user:password@host/db to run it"
    ;;
esac
exit $status
