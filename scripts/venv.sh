# Sourced by scripts/run and scripts/test: finds Python 3.11+ and makes .venv with it.
VENV="${VENV:-.venv}"

ensure_venv() {
  if [ -x "$VENV/bin/python" ]; then
    return
  fi
  local python
  for python in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    # Quietly: a pyenv shim for a Python that is not installed explains itself at length.
    if [ -n "$python" ] && command -v "$python" >/dev/null 2>&1 \
      && "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      "$python" -m venv "$VENV"
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
      echo "made $VENV with $("$VENV/bin/python" --version)" >&2
      return
    fi
  done
  echo "imagine-bot needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
}

# Installs the locked dependencies (requirements.lock, or requirements-dev.lock with the
# tools), every file checked against its hash, then imagine-bot itself from this checkout.
install_locked() {
  local lock="$1" repo="$2"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$repo/$lock"
  # setuptools warns on every editable install that a folder named like a package could
  # shadow it; here that folder is the package itself.
  PYTHONWARNINGS="ignore:Editable installation" \
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -e "$repo"
}
