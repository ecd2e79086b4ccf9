#!/usr/bin/env bash
# Install, migrate, build the demo company if the database is empty (CRM_DEMO=0: no demo;
# an empty database prints a one-time token for the console's setup page), start the worker
# (dispatch, recycling, warnings), the lead intake API on http://127.0.0.1:8502
# (CRM_API_HOST, CRM_API_PORT; see docs/api.md) and the console on http://localhost:8501
# (CRM_PORT changes the port). Stopping the console stops the worker and the API.
set -euo pipefail
source "$(dirname "$0")/scripts/venv.sh"
python -m db.migrate
if [ "${CRM_DEMO:-1}" = "0" ]; then
  # An empty company: on a database without accounts, print the setup page's one-time token.
  python -m db.setup --token
else
  python -m db.seed --if-empty
  python -m db.seed --logins
fi
python -m crm_core.circulation.worker &
worker=$!
python -m crm_api &
api=$!
trap 'kill "$worker" "$api" 2>/dev/null' EXIT INT TERM
python -m streamlit run server.py \
  --server.port "${CRM_PORT:-8501}" \
  --server.headless true \
  --browser.gatherUsageStats false
