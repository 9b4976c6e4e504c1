#!/usr/bin/env bash
# How much SSIM in the loss, for a continued prophet on Moving MNIST: three runs from the shipped
# weights, same data seed, schedule and budget, differing only in the loss (BCE; BCE + w x
# (1 - SSIM) for w = 0.25 and 1), then all three scored on the same held-out clips (closed loop
# 10 -> 10) into bench/experiments/ablation/ssim-weight.json.  Usage: MINUTES=8 bash bench/experiments/ssim_weight_ablation.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
MINUTES=${MINUTES:-8}
models=()
for w in 0 0.25 1; do
  if [ "$w" = 0 ]; then loss=(--loss bce); else loss=(--loss bce+ssim --options "{\"ssim_weight\": $w}"); fi
  $PY -m frameprophet train --dataset mnist --minutes "$MINUTES" --lr 7e-5 --seed 27 "${loss[@]}" \
    --init weights/mnist.keras --out "runs/ablation/ssim-$w.keras" --run-dir "runs/ablation/run-ssim-$w" \
    --note "ssim-weight ablation, w=$w, ${MINUTES} min"
  models+=(--model "runs/ablation/run-ssim-$w/best.keras")
done
$PY -m frameprophet evaluate "${models[@]}" --dataset mnist --n 256 --json bench/experiments/ablation/ssim-weight.json
