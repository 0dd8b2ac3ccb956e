#!/usr/bin/env bash
# Per-iteration time of two `train` builds, in turn, by the difference of a long and a short run
# (so start-up and pipeline builds cancel out): the README's Performance tables against older
# commits. Not run by CI.
#
#     bash bench/iteration_ab.sh OLD_TRAIN NEW_TRAIN [ROUNDS] [NEW_EXTRA_ARGS]
#
# e.g. with an older commit built into /tmp/old (git worktree add /tmp/old 70bf4b3 &&
# cargo build --release --example train --manifest-path /tmp/old/Cargo.toml --target-dir /tmp/old-target):
#
#     bash bench/iteration_ab.sh /tmp/old-target/release/examples/train \
#         target/release/examples/train 5 "--ema off"
#
# Prints, per round and build, ms per iteration of the mlp ((T(50) − T(10)) / 40) and of the
# dcgan ((T(5) − T(2)) / 3), then the median of the per-round ratios OLD / NEW.
set -euo pipefail
old=$1
new=$2
rounds=${3:-3}
new_extra=${4:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" --quiet --sample-every 0 --out "$out" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    python3 -c "print($end - $start)"
}

per_iteration() { # binary, model, short, long, extra args
    local bin=$1 model=$2 short=$3 long=$4
    shift 4
    local a b
    a=$(seconds "$bin" --model "$model" --steps "$short" "$@")
    b=$(seconds "$bin" --model "$model" --steps "$long" "$@")
    python3 -c "print(round(($b - $a) * 1000 / ($long - $short), 1))"
}

ratios_mlp=()
ratios_dcgan=()
for round in $(seq "$rounds"); do
    for who in old new; do
        if [ "$who" = old ]; then bin=$old; extra=(); else bin=$new; read -r -a extra <<<"$new_extra"; fi
        mlp=$(per_iteration "$bin" mlp 10 50 "${extra[@]}")
        dcgan=$(per_iteration "$bin" dcgan 2 5 "${extra[@]}")
        echo "round $round $who: mlp $mlp ms, dcgan $dcgan ms"
        if [ "$who" = old ]; then old_mlp=$mlp; old_dcgan=$dcgan; fi
    done
    ratios_mlp+=("$(python3 -c "print($old_mlp / $mlp)")")
    ratios_dcgan+=("$(python3 -c "print($old_dcgan / $dcgan)")")
done
python3 - "${ratios_mlp[*]}" "${ratios_dcgan[*]}" <<'PY'
import statistics, sys
for name, values in zip(["mlp", "dcgan"], sys.argv[1:]):
    r = [float(v) for v in values.split()]
    print(f"{name}: OLD/NEW median {statistics.median(r):.2f}x (range {min(r):.2f}-{max(r):.2f}) over {len(r)} rounds")
PY
