#!/usr/bin/env bash
# Installs arvc (scripts/setup.sh) and runs the whole test suite (CI's .ci/run calls this), printing the 15
# slowest tests. `--quick` leaves out the tests marked slow (process spawning, training, browser, DDP).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
MARK=()
if [ "${1:-}" = "--quick" ]; then
  shift
  MARK=(-m "not slow")
fi
exec python -m pytest -q --durations=15 "${MARK[@]}" tests "$@"
