#!/usr/bin/env bash
# The checks that need a GPU (benchmarks/gpu_check.py): the tests that use CUDA, outputs on CUDA
# against the CPU's, speed. Run on a machine with a CUDA GPU after the README's install; paste the
# output into weights/MODEL_CARD.md.
set -uo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "nvidia-smi: not found"
python3 -m pytest -q -p no:cacheprovider -k cuda tests/test_inference.py tests/test_batch_commands.py tests/test_batch_engine.py \
    tests/test_products_commands.py
python3 benchmarks/gpu_check.py "$@"
