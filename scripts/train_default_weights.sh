#!/usr/bin/env bash
# Reproduces the shipped weights (weights/rec.safetensors, weights/csr.safetensors) and the
# supervised reference (weights/rec-supervised.safetensors). Every run is resumable: run the
# script again after an interruption. Logs: runs/<name>/train.log, runs/<name>/log.jsonl.
#   DEVICE=cuda bash scripts/train_default_weights.sh   # on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cpu}
SCENES=${SCENES:-../shared/data/l1b-examples}   # real crops used as high-resolution scenes
COMMON=(--batch 8 --crop 96 --device "$DEVICE" --real-scenes "$SCENES" --log-every 50 --ckpt-every 100)

# 1. CSR: anchor consistency + shift equivariance (no ground truth)
python -m l1bsr_core.train csr --out runs/csr "${COMMON[@]}" --steps 2400 --lr 1e-3 \
  --smooth-weight 0.02 --equivariance-weight 1.0 --val-every 100
python -m l1bsr_core.train export runs/csr --name csr --override '{"lk_robust": 0.3}' \
  --description "Lucas-Kanade CSR (learned features), self-supervised"

# 2. REC: self-supervised through the frozen CSR (needs step 1)
# (steps 2 and 3 are independent: the shipped runs ran side by side, --threads 1 each)
python -m l1bsr_core.train rec --out runs/rec "${COMMON[@]}" --steps 1500 --lr 7e-4 --val-every 200 \
  --csr-weights csr
python -m l1bsr_core.train export runs/rec --name rec --description "RCAN 2x4x16, direct upsampler, bicubic skip, self-supervised"

# 3. Reference upper bound: the same REC trained with the true HR image (simulated data only)
python -m l1bsr_core.train rec-supervised --out runs/rec_supervised "${COMMON[@]}" --steps 1500 --lr 7e-4 \
  --val-every 200
python -m l1bsr_core.train export runs/rec_supervised --name rec-supervised --description "supervised reference (upper bound)"
