# Sourced by run.sh and test.sh: make .venv and install the pinned requirements when they
# changed since the last install. run.sh installs requirements.txt (what the console needs);
# test.sh sets CRM_REQUIREMENTS="requirements.txt requirements-dev.txt" (tests and tooling).
set -e
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  echo "creating the virtual environment in .venv"
  "$PYTHON" -m venv "$ROOT/.venv"
fi
# shellcheck disable=SC1091
source "$ROOT/.venv/bin/activate"
for file in ${CRM_REQUIREMENTS:-requirements.txt}; do
  stamp="$ROOT/.venv/.${file%.txt}.sha256"
  want="$(sha256sum "$ROOT/$file" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing $file"
    python -m pip install --quiet --disable-pip-version-check --upgrade pip
    python -m pip install --quiet --disable-pip-version-check -r "$ROOT/$file"
    echo "$want" > "$stamp"
  fi
done
cd "$ROOT"
# The translations the console reads: compiled from locale/*/LC_MESSAGES/messages.po.
python -m crm_core.platform.i18n.catalogues compile
