# shellcheck shell=bash
# Sourced by scripts/* and .ci/run: the repository's virtual environment, so nothing is
# installed into the system interpreter (Debian's and Ubuntu's are externally managed, PEP 668).
#
#   source scripts/_venv.sh     creates .venv on first use; exports VENV, PY (its python)
#                               and PATH with $VENV/bin first
#   venv_install EXTRA[,EXTRA]  installs meterwall (editable) with those extras, every version
#                               pinned by constraints.txt; skipped when already done for the
#                               current pyproject.toml and constraints.txt
#
# METERWALL_VENV puts the environment elsewhere; PYTHON names the interpreter that creates it
# (default: python3 on PATH).

METERWALL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${METERWALL_VENV:-$METERWALL_ROOT/.venv}"
PY="$VENV/bin/python"
export VENV PY

_venv_create() {
  local base="${PYTHON:-python3}"
  if ! command -v "$base" >/dev/null 2>&1; then
    echo "error: $base not found: install Python 3.11 or newer (or set PYTHON=...)" >&2
    return 1
  fi
  if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: meterwall needs Python 3.11 or newer; $base is $("$base" -V 2>&1)" >&2
    return 1
  fi
  # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a package of its own.
  if ! "$base" -c 'import ensurepip' >/dev/null 2>&1; then
    local pkg
    pkg="$("$base" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing Debian's $pkg (python3 -m venv needs it)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    else
      echo "error: $base cannot create a virtual environment; run: sudo apt-get install $pkg" >&2
      return 1
    fi
  fi
  echo "creating the virtual environment $VENV ($("$base" -V 2>&1))"
  "$base" -m venv --clear "$VENV"
}

# A folder left by an interrupted or failed `python3 -m venv` has no working pip: start over.
if ! "$PY" -c 'import pip' >/dev/null 2>&1; then
  _venv_create || exit 1
fi
export PATH="$VENV/bin:$PATH"

venv_install() {
  local extras="$1"
  local stamp="$VENV/.meterwall-installed-${extras//,/-}"
  local want
  want="$(cat "$METERWALL_ROOT/pyproject.toml" "$METERWALL_ROOT/constraints.txt" | sha256sum)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "installing meterwall[$extras] into $VENV (pinned by constraints.txt)"
  "$PY" -m pip install -q --disable-pip-version-check \
    -c "$METERWALL_ROOT/constraints.txt" -e "${METERWALL_ROOT}[${extras}]"
  echo "$want" >"$stamp"
}
