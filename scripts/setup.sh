#!/usr/bin/env bash
# Install everything that is missing, then run the service or the test suite.
#   scripts/setup.sh run    install + `pbx run` (Kamailio, engine, HTTP API)
#   scripts/setup.sh test   install + ruff + mypy + the whole pytest suite
# Idempotent: a second run installs nothing and starts again.
set -euo pipefail
mode="${1:-run}"
cd "$(dirname "$0")/.."

APT_PACKAGES=(kamailio kamailio-postgres-modules kamailio-extra-modules kamailio-utils-modules
              postgresql redis-server ffmpeg sip-tester sox python3-venv)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The packaged Kamailio would take port 5060; `pbx run` starts its own.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    sudo_ systemctl disable --now kamailio >/dev/null 2>&1 || true
  fi
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-$mode"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  if [ "$mode" = test ]; then .venv/bin/pip install -q -e '.[test]'; else .venv/bin/pip install -q -e .; fi
  touch "$stamp"
fi

case "$mode" in
  run)
    exec .venv/bin/pbx run
    ;;
  test)
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy
    exec .venv/bin/pytest -q "${@:2}"
    ;;
  *)
    echo "usage: scripts/setup.sh run|test [pytest args]" >&2
    exit 2
    ;;
esac
