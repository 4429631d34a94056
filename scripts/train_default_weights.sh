#!/usr/bin/env bash
# Reproduces the shipped weights (weights/rec.safetensors, weights/csr.safetensors) and the
# supervised reference (weights/rec-supervised.safetensors). Every run is resumable: run the
# script again after an interruption. Logs: runs/<name>/train.log, runs/<name>/log.jsonl.
#   DEVICE=cuda bash scripts/train_default_weights.sh   # on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cpu}
SCENES=${SCENES:-../shared/data/l1b-examples}   # real crops used as high-resolution scenes
COMMON=(--batch 8 --crop 64 --device "$DEVICE" --real-scenes "$SCENES" --log-every 50 --ckpt-every 100)

# 1. CSR: anchor consistency + shift equivariance (no ground truth)
python -m l1bsr_core.train csr --out runs/csr --steps 1400 --lr 1e-3 --val-every 150 "${COMMON[@]}"
python -m l1bsr_core.train export runs/csr --name csr --description "correlation CSR, self-supervised"

# 2. REC: self-supervised through the frozen CSR (needs step 1)
python -m l1bsr_core.train rec --out runs/rec --steps 2000 --lr 5e-4 --val-every 250 --csr-weights csr "${COMMON[@]}"
python -m l1bsr_core.train export runs/rec --name rec --description "RCAN 2x4x24 + bicubic skip, self-supervised"

# 3. Reference upper bound: the same REC trained with the true HR image (simulated data only)
python -m l1bsr_core.train rec-supervised --out runs/rec_supervised --steps 2000 --lr 5e-4 --val-every 250 "${COMMON[@]}"
python -m l1bsr_core.train export runs/rec_supervised --name rec-supervised --description "supervised reference (upper bound)"
