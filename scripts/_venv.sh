# Shared by scripts/demo, scripts/test and scripts/check: make (or reuse) a virtualenv and install
# Lazarus into it with the exact versions pinned in requirements/constraints.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${LAZARUS_VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
echo "installing lazarus[$EXTRAS] into $VENV (pinned by requirements/constraints.txt)" >&2
log="$VENV/install.log"
if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
       "$VENV/bin/python" -m pip install --disable-pip-version-check \
         -c requirements/constraints.txt -e ".[$EXTRAS]"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "installation failed; the full log is in $log" >&2
  exit 1
fi
