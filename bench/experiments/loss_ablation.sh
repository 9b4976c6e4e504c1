#!/usr/bin/env bash
# BCE vs MSE for prophet on Moving MNIST: two runs of the same recipe, data, seed and schedule,
# differing only in the loss; held-out closed-loop metrics (256 test clips) land in
# bench/experiments/ablation/loss-*.json. Then, with FOLLOW=MINUTES, the long run starts with the winner
# (lower held-out MSE).  Usage: MINUTES=3 FOLLOW=125 bash bench/experiments/loss_ablation.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
MINUTES=${MINUTES:-3}
for loss in bce mse; do
  $PY -m frameprophet train --dataset mnist --minutes "$MINUTES" --loss "$loss" \
    --out "runs/ablation/loss-$loss.keras" --run-dir "runs/ablation/run-$loss" \
    --note "loss ablation, ${MINUTES} min, nothing else running"
  cp "runs/ablation/loss-$loss.json" "bench/experiments/ablation/loss-$loss.json"
done
winner=$($PY - <<'PY'
import json
r = {l: json.load(open(f"bench/experiments/ablation/loss-{l}.json"))["metrics"]["model"] for l in ("bce", "mse")}
for l, m in r.items():
    print(f"{l}: MSE {m['mse']['mean']:.1f} SSIM {m['ssim']['mean']:.3f}", file=__import__("sys").stderr)
print(min(r, key=lambda l: r[l]["mse"]["mean"]))
PY
)
echo "winner: $winner"
if [ -n "${FOLLOW:-}" ]; then
  exec $PY -m frameprophet train --dataset mnist --minutes "$FOLLOW" --loss "$winner" \
    --out weights/mnist.keras --note "${NOTE:-shared the CPU with light work}"
fi
