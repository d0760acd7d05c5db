#!/usr/bin/env bash
# Creates .venv (unless a virtual environment is already active) and installs arvc into it.
# Sourced by scripts/quickstart.sh and scripts/test.sh; safe to run repeatedly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
STAMP=".venv-installed.$(cat requirements.txt requirements-nodeps.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$VIRTUAL_ENV/$STAMP" ]; then
  echo "[setup] installing into $VIRTUAL_ENV"
  python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
  python -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "is ignored" || true
  python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt 2>&1 | grep -v "is ignored" || true
  python -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v "is ignored" || true
  python -c "import torch, numpy, faiss, transformers, accelerate, arvc" \
    || { echo "[setup] installation failed" >&2; exit 1; }
  if python -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('torchaudio') is None)"; then
    echo "[setup] torchaudio got installed; it must not be (it pins another torch)" >&2; exit 1
  fi
  touch "$VIRTUAL_ENV/$STAMP"
fi
