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
  # one torch thread per test unless told otherwise: with any other busy process on a 2-vCPU machine, two OpenMP
  # threads per test wait on each other (measured: 6 m 40 s with 2 threads vs 1 m 58 s with 1)
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
fi
exec python -m pytest -q --durations=15 "${MARK[@]}" tests "$@"
