#!/usr/bin/env bash
# The accuracy–sparsity–energy experiment of plugins/engine/EXPERIMENT.md, end to end:
#
#   1. train the unregularized VGG-style QNN of pipelines/train-fashion-mnist.toml on
#      Fashion-MNIST (T = 6, QCFS shift 0.5, 12 epochs);
#   2. fine-tune it for 3 epochs without a regularizer (the control) and with each regularizer
#      at several strengths (activation-l1; energy-aware priced on each of the three
#      architectures; weight-l2; weight-gram), one generated pipeline per run;
#   3. every run converts its network to the SNN, measures its spikes on the 10 000 test
#      images and prices them on the three architectures (train.json in its folder);
#   4. `snnergy train compare` writes the table and the plot into plugins/engine/experiment/.
#
#   apt-get install dataset-fashion-mnist
#   plugins/engine/tools/experiment.sh            # about 85 minutes on 2 cores
#
# Environment: OUT (default snnergy-out/experiment), SNNERGY (default the release binary),
# ONLY="name …" to rerun some runs only (the base is reused if its checkpoint exists).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
OUT=${OUT:-snnergy-out/experiment}
SNNERGY=${SNNERGY:-target/release/snnergy}
BASE_PIPELINE=pipelines/train-fashion-mnist.toml
BASE_CKPT=snnergy-out/train-fashion-mnist/checkpoint.safetensors
START=$SECONDS

if [[ -z ${SNNERGY_NO_BUILD:-} ]]; then
  cargo build --release -p snnergy-cli
fi
mkdir -p "$OUT/pipelines" "$OUT/runs" "$OUT/logs"

# 1. The base run. An existing checkpoint is resumed: complete, it is only measured again.
resume=()
[[ -f $BASE_CKPT ]] && resume=(--resume)
"$SNNERGY" train "$BASE_PIPELINE" "${resume[@]}" --out "$OUT/runs/base" 2>&1 | tee "$OUT/logs/base.log"

# 2. Fine-tuning runs: the base pipeline with its [train] section replaced.
variant() {
  local name=$1 regularizer=$2
  local p="$OUT/pipelines/$name.toml"
  if [[ -n ${ONLY:-} && " $ONLY " != *" $name "* ]]; then
    return
  fi
  awk '/^\[train\]/{skip=1} /^\[\[architecture\]\]/{skip=0} !skip' "$BASE_PIPELINE" \
    | awk -v block="$(cat <<EOF
[train]
dataset = "fashion-mnist"
epochs = 3
batch = 128
shift = 0.5
optimizer = "adamw"
lr = 5e-4
schedule = "cosine"
crop_padding = 2
flip = true
seed = 1
init = "$ROOT/$BASE_CKPT"
checkpoint = "$ROOT/$OUT/runs/$name/checkpoint.safetensors"
$regularizer

EOF
)" '/^\[\[architecture\]\]/ && !done {print block; done=1} {print}' > "$p"
  rm -f "$OUT/runs/$name/checkpoint.safetensors"
  "$SNNERGY" train "$p" --out "$OUT/runs/$name" 2>&1 | tee "$OUT/logs/$name.log"
}

reg() { # type weight [extra TOML lines]
  printf '[[train.regularizer]]\ntype = "%s"\nweight = %s\n%s' "$1" "$2" "${3:-}"
}
energy_aware() { # architecture-table energy weight
  reg energy-aware "$3" "architecture = $1
energy = \"$2\""
}
CLASSICAL='{ type = "classical" }'
SPATIAL='{ type = "spatial", weight_memory = "wired", state_memory = "sram" }'
NEUROMORPHIC='{ type = "neuromorphic" }'

variant control ""
for w in ${L1:-1e-6 2e-6 3e-6 5e-6}; do
  variant "l1-$w" "$(reg activation-l1 $w)"
done
for w in ${EA:-2e-6 3e-6 5e-6}; do
  variant "ea-classical-$w" "$(energy_aware "$CLASSICAL" horowitz-45nm $w)"
  variant "ea-spatial-$w" "$(energy_aware "$SPATIAL" paper-v1 $w)"
  variant "ea-neuromorphic-$w" "$(energy_aware "$NEUROMORPHIC" yan-22nm $w)"
done
variant l2-5e-3 "$(reg weight-l2 5e-3)"
variant l2-5e-2 "$(reg weight-l2 5e-2)"
variant gram-2e-3 "$(reg weight-gram 2e-3)"
variant gram-2e-2 "$(reg weight-gram 2e-2)"

# 4. The table and the plot.
runs=("$OUT/runs/base")
for r in control l1-1e-6 l1-2e-6 l1-3e-6 l1-5e-6 \
  ea-classical-2e-6 ea-classical-3e-6 ea-classical-5e-6 \
  ea-spatial-2e-6 ea-spatial-3e-6 ea-spatial-5e-6 \
  ea-neuromorphic-2e-6 ea-neuromorphic-3e-6 ea-neuromorphic-5e-6 \
  l2-5e-3 l2-5e-2 gram-2e-3 gram-2e-2; do
  [[ -f $OUT/runs/$r/train.json ]] && runs+=("$OUT/runs/$r")
done
"$SNNERGY" train compare "${runs[@]}" --out plugins/engine/experiment
echo "experiment wall time: $(( (SECONDS - START) / 60 )) min $(( (SECONDS - START) % 60 )) s"
