#!/usr/bin/env bash
# Installs arvc (scripts/setup.sh) and runs the whole workflow on the bundled demo voice.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec python -m arvc.api.cli quickstart "$@"
