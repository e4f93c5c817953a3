#!/usr/bin/env bash
# tools/bootstrap.sh -- the project's virtualenv (.venv) with novajoin (editable)
# and its test tools, plus the Debian packages they need. Idempotent: a second
# run only checks. Used by tools/dev.sh, tools/test.sh and .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NOVAJOIN_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
log() { echo "[bootstrap $(date +%H:%M:%S)] $*" >&2; }

# Debian packages: krb5 headers to build python-gssapi, kinit/klist for the set-up
# tool, dash + shellcheck for the guest script's tests.
# haproxy: the replicas and faults tests (tests/functional/test_faults.py).
APT_PKGS=(libkrb5-dev krb5-user dash shellcheck gcc haproxy)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp="$VENV/.novajoin-reqs"
want=$(cat "$ROOT/requirements.txt" "$ROOT/test-requirements.txt" "$ROOT/setup.cfg" | sha256sum | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "venv up to date ($VENV)"
  exit 0
fi
command -v "$PYTHON" >/dev/null || PYTHON=python3
log "installing novajoin into $VENV"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q -U pip setuptools wheel
"$VENV/bin/pip" install -q -e "$ROOT" -r "$ROOT/test-requirements.txt"
echo "$want" > "$stamp"
log "done"
