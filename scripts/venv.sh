# Sourced by scripts/run and scripts/test: finds Python 3.11+ and makes .venv with it.
VENV="${VENV:-.venv}"

ensure_venv() {
  if [ -x "$VENV/bin/python" ]; then
    return
  fi
  local python
  for python in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    if [ -n "$python" ] && command -v "$python" >/dev/null 2>&1 \
      && "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      "$python" -m venv "$VENV"
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
      return
    fi
  done
  echo "imagine-bot needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}
