#!/usr/bin/env bash
# tools/dev.sh -- run novajoin-server in DEVELOPMENT MODE on 127.0.0.1:9090:
# no keystone, an in-process IPA stand-in, a random OTP secret. Not for production.
# Extra arguments go to novajoin-server (e.g. --port 9191).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/bootstrap.sh"
exec "${NOVAJOIN_VENV:-$ROOT/.venv}/bin/novajoin-server" --dev "$@"
