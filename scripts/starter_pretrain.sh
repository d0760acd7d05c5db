#!/usr/bin/env bash
# Rebuilds the starter pretrain from scratch: synthetic speakers -> preprocess -> extract -> train (resumable:
# re-run the same command after a stop). Export the latest checkpoint pair as the fp16 G/D pretrain with
#   bash scripts/starter_pretrain.sh WORK_DIR --export assets/pretrains/starter_whisper_fcpe_v2_32k_small
# THREADS (default 1) sets the torch threads; PYTHON the interpreter (default: .venv's, else python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$ROOT/pretrain_run}"
shift || true
PACKAGES=(espeak-ng sox festival festvox-kdlpc16k festvox-italp16k festvox-itapc16k festvox-czech-dita
          festvox-czech-krb festvox-czech-machac festvox-czech-ph festival-czech festvox-suopuhe-lj
          festvox-suopuhe-mv festvox-ca-ona-hts festival-ca)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "starter_pretrain: missing Debian packages: ${missing[*]} (apt-get install them)" >&2
    exit 1
  fi
fi
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY=python3; fi
fi
THREADS="${THREADS:-1}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
exec nice -n 10 "$PY" "$ROOT/scripts/starter_pretrain.py" --work "$WORK" --threads "$THREADS" "$@"
