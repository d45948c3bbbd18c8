#!/usr/bin/env bash
# The study's model comparison on the synthetic corpus: every available encoder × a min_cluster_size
# sweep, one Hydra multirun = one MLflow parent run whose summary/ holds the three tables
# (min_cluster_size.csv = Appendix 1, model_comparison.csv = Table 1, confidence.csv = Appendix 3)
# plus the cross-model ARI/NMI agreement matrix.
#
#   experiments/paper_comparison/run.sh                 # paper preset (16,567 posts), default encoders
#   experiments/paper_comparison/run.sh small           # the ~1,650-post preset (minutes)
#   MODELS=efficientnet_lite0,resnet50,clip_vit_b32,blip2 experiments/paper_comparison/run.sh paper \
#       model.weights=/models/...                        # with local weights for the paper's models
#
# Extra arguments are Hydra overrides for every job. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET="${1:-paper}"
shift || true
MODELS="${MODELS:-efficientnet_lite0,tiny_random}"
SIZES="${SIZES:-25,50,100,200}"
RAW="experiments/paper_comparison/results/raw/${PRESET}"
OUT="experiments/paper_comparison/results/${PRESET}"

# Jobs run one after another in this process: each model's corpus embedding and UMAP are computed
# once and cached, every further min_cluster_size costs only the clustering and its metrics.
# The HTML report is off for the sweep (rerun the configuration you pick with `visframe`).
.venv/bin/visframe -m \
  "dataset.preset=${PRESET}" "model=${MODELS}" "clusterer.min_cluster_size=${SIZES}" \
  report.enabled=false "hydra.sweep.dir=${RAW}" "$@"

mkdir -p "${OUT}"
cp "${RAW}"/summary/*.csv "${RAW}"/summary/*.png "${OUT}/"
echo "Tables: ${OUT}"
