#!/usr/bin/env bash
# Reproduces the shipped weights: weights/csr.safetensors (joint phase-correlation CSR) and
# weights/rec.safetensors (faithful REC, trained through the CSR's flows). Every run is resumable:
# run the script again after an interruption. Logs: runs/<name>/train.log, runs/<name>/log.jsonl.
#   DEVICE=cuda bash scripts/train_default_weights.sh   # on a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cpu}
SCENES=${SCENES:-../shared/data/l1b-examples}   # real crops used as high-resolution scenes
COMMON=(--batch 8 --device "$DEVICE" --real-scenes "$SCENES" --log-every 25 --ckpt-every 25)

# 1. CSR: two-view consistency through the detector overlap (no ground truth). The fusion network
#    sees grids of correlation windows, so crops are 160 px (7 x 7 windows of 64 px every 16 px).
python -m l1bsr_core.train csr --out runs/csr-joint "${COMMON[@]}" --crop 160 --steps 600 --lr 1e-3 --val-every 100
python -m l1bsr_core.train export runs/csr-joint --name csr \
  --description "Joint CSR: windowed phase correlation + learned fusion of B, R, NIR, self-supervised (two-view consistency)"

# 2. REC: faithful layers around RCAN 2x4x16, self-supervised through the frozen CSR's flows.
#    (The shipped run used the CSR's step-50 checkpoint, runs/csr-joint-step-for-rec.pt, so that
#    both could train side by side on 2 cores; CSR_FOR_REC=csr uses the final CSR.)
CSR_FOR_REC=${CSR_FOR_REC:-csr}
python -m l1bsr_core.train rec --out runs/rec-faithful "${COMMON[@]}" --crop 96 --steps 700 --lr 7e-4 --val-every 100 \
  --csr-weights "$CSR_FOR_REC" --model-config '{"faithful": true}' --threads 1
python -m l1bsr_core.train export runs/rec-faithful --name rec \
  --description "Faithful REC (RCAN 2x4x16 in radiometric layers), input aligned by csr, self-supervised through csr's flows"
