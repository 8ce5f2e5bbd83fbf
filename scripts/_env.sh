# Shared by the scripts: find a Python 3.11+ and prepare the project's virtual environment.
# Usage: . scripts/_env.sh; ensure_venv [extras]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KONNECT_VENV:-$ROOT/.venv}"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "konnect needs Python 3.11 or newer (python3)" >&2
  return 1
}

apt_install() {
  # Installs Debian packages when missing; needs root (or sudo).
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_venv() {
  local extras="${1:-}"
  local python
  python="$(find_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      apt_install python3-venv
      "$python" -m venv "$VENV"
    fi
  fi
  local spec="$ROOT"
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  local log
  log="$(mktemp)"
  if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "installing konnect into $VENV failed" >&2
    return 1
  fi
  rm -f "$log"
}
