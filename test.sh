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

pg_url="${CRM_DATABASE_URL:-}"
status=0
echo "== test suite on SQLite"
env -u CRM_DATABASE_URL python -m pytest "$@" || status=$?

case "$pg_url" in
  postgresql*)
    echo "== test suite on PostgreSQL"
    CRM_DATABASE_URL="$pg_url" python -m pytest "$@" || status=$?
    ;;
  *)
    echo "PostgreSQL part skipped: set CRM_DATABASE_URL=postgresql+psycopg://user:password@host/db to run it"
    ;;
esac
exit $status
