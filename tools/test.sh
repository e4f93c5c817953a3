#!/usr/bin/env bash
# tools/test.sh -- every test: unit tests, then the functional tests against the
# real peers, which it starts when they are down: FreeIPA (../shared/ipa/up.sh),
# keystone, nova, nova's compute API and neutron (../shared/peers/up.sh),
# RabbitMQ, and a real Debian 12 guest's rootfs (../shared/guest/up.sh).
# The fault tests (tests/functional/test_faults.py) also stop and start
# keystone and RabbitMQ, and run HAProxy (installed by tools/bootstrap.sh).
#   tools/test.sh            everything
#   tools/test.sh --unit     unit tests only (no peers needed, seconds)
#   tools/test.sh -- ARGS    pass ARGS to pytest (e.g. -- -k notify)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${NOVAJOIN_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
VENV="${NOVAJOIN_VENV:-$ROOT/.venv}"
log() { echo "[test $(date +%H:%M:%S)] $*" >&2; }
UNIT=0; PYTEST_ARGS=()
while (($#)); do
  case $1 in
    --unit) UNIT=1 ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
"$ROOT/tools/bootstrap.sh"
cd "$ROOT"
log "flake8"
"$VENV/bin/flake8"
if ((UNIT)); then
  exec "$VENV/bin/python" -m pytest tests/unit -q "${PYTEST_ARGS[@]}"
fi

[[ -d "$SHARED/ipa" && -d "$SHARED/peers" ]] || { echo "no peers at $SHARED (set NOVAJOIN_SHARED)" >&2; exit 2; }
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  log "starting RabbitMQ"
  command -v rabbitmq-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; }
  rabbitmq-server -detached
  for _ in $(seq 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
fi
log "FreeIPA peer (../shared/ipa/up.sh)"
"$SHARED/ipa/up.sh" > /tmp/novajoin-ipa-up.log 2>&1 || { tail -n 40 /tmp/novajoin-ipa-up.log; exit 1; }
log "keystone + nova + nova compute API + neutron peers (../shared/peers/up.sh --with-nova-api --with-neutron)"
"$SHARED/peers/up.sh" --with-nova-api --with-neutron > /tmp/novajoin-peers-up.log 2>&1 || { tail -n 40 /tmp/novajoin-peers-up.log; exit 1; }
log "Debian 12 guest rootfs (../shared/guest/up.sh --fix-peer; built once, ~85 s)"
"$SHARED/guest/up.sh" --fix-peer > /tmp/novajoin-guest-up.log 2>&1 || { tail -n 40 /tmp/novajoin-guest-up.log; exit 1; }
log "pytest"
exec "$VENV/bin/python" -m pytest tests -q -rfE "${PYTEST_ARGS[@]}"
