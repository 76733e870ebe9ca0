#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz, on the nightly toolchain) of:
#   objects  the object reader behind `assess` (YAML, JSON, List, many documents)
#   engine   reader + engine + the verdict's invariants, seeded with the corpus dumps
#   access   cookie and Authorization headers and the login form, through the real router
# Not part of the test command: a fixed budget per target (default 300 s), a recorded seed, the
# corpora kept under ~/.cache so each run continues the last. A crash leaves its input under
# fuzz/artifacts/<target>/ and the run fails; the input then becomes a regression test.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$AS_ROOT"
CARGO_FUZZ_VERSION=0.13.1
budget="${1:-300}"
shift || true
targets=("${@:-objects engine access}")
read -r -a targets <<<"${targets[*]}"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
fuzz_root="$AS_CACHE/tools/cargo-fuzz-$CARGO_FUZZ_VERSION"
if [ ! -x "$fuzz_root/bin/cargo-fuzz" ]; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$fuzz_root"
fi
export PATH="$fuzz_root/bin:$PATH"
export CARGO_TARGET_DIR="$AS_CACHE/target-fuzz"

seed="${FUZZ_SEED:-$(date +%s)}"
echo "fuzz: budget ${budget}s per target, seed $seed, nightly $(rustc +nightly --version | cut -d' ' -f2-)"
for target in "${targets[@]}"; do
  corpus="$AS_CACHE/fuzz-corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  case "$target" in
    objects|engine)
      for dump in server/corpus/*/dump.yaml; do cp -n "$dump" "$corpus/$(basename "$(dirname "$dump")").yaml"; done
      cp -n engine/scenarios/*.yaml "$corpus"/ ;;
    access) cp -n fuzz/seeds/access/* "$corpus"/ 2>/dev/null || true ;;
  esac
  log="$AS_CACHE/fuzz-$target.log"
  echo "==> $target (corpus $(ls "$corpus" | wc -l) inputs)"
  # No sanitizer: the code is safe Rust; what is sought is a panic or a broken invariant, and
  # without ASan the budget buys about twice the executions.
  set +e
  cargo +nightly fuzz run --sanitizer none --fuzz-dir fuzz "$target" "$corpus" -- \
    -max_total_time="$budget" -seed="$seed" -print_final_stats=1 -rss_limit_mb=2048 \
    -max_len=262144 -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" | sed "s/^/  $target /"
  grep -E '^#[0-9]+ *DONE' "$log" | tail -1 | sed "s/^/  $target /" || true
  if [ $rc -ne 0 ]; then
    echo "  $target: FAILED (exit $rc); log $log; inputs in fuzz/artifacts/$target/"
    grep -E 'panicked|SUMMARY|deadly signal|Test unit written' "$log" | head -5 | sed 's/^/    /'
    exit 1
  fi
done
