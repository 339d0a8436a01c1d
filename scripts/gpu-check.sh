#!/usr/bin/env bash
# scripts/gpu-check.sh: on a machine with an NVIDIA GPU, set up onnxruntime's CUDA build, embed the test fixtures
# with --provider cuda, and run bench:embed (built-in model) and bench:embed --densenet on cuda.
# PROVIDER=cpu bash scripts/gpu-check.sh is a dry run of the same steps on the CPU (no setup:gpu).
# COUNT (default 512) sets the built-in model's image count; the DenseNet run uses 256.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
PROVIDER="${PROVIDER:-cuda}"
COUNT="${COUNT:-512}"
step() { printf '\n== gpu-check: %s\n' "$*" >&2; }
fail() { printf 'gpu-check: FAILED: %s\n' "$*" >&2; exit 1; }
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

if [ "$PROVIDER" = cuda ]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this needs an NVIDIA GPU and driver (or PROVIDER=cpu for a dry run)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  step "npm run setup:gpu (onnxruntime-node with CUDA 12)"
  npm run setup:gpu
fi

work="$(mktemp -d -t lightbox-gpu-check-XXXXXX)"
trap 'rm -rf "$work"' EXIT
export LIGHTBOX_HOME="$work/home"

step "fixtures"
npm run fixtures >/dev/null
step "lightbox embed of the fixtures on $PROVIDER"
node bin/lightbox.mjs import test-output/fixtures --project "$work/project" --json >/dev/null
node bin/lightbox.mjs embed --project "$work/project" --provider "$PROVIDER" --json | tail -n 1 > "$work/embed.json"
cat "$work/embed.json"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (s.provider !== process.argv[2]) { console.error(`gpu-check: embedded on ${s.provider}, not ${process.argv[2]}: ${s.providerFallback}`); process.exit(1); }
if (!(s.embedded > 0)) { console.error("gpu-check: nothing embedded"); process.exit(1); }
' "$work/embed.json" "$PROVIDER"

step "bench:embed, built-in model, $COUNT images, $PROVIDER"
npm run --silent bench:embed -- --count "$COUNT" --provider "$PROVIDER" | tail -n 1
step "bench:embed --densenet, 256 images, $PROVIDER"
npm run --silent bench:embed -- --densenet --count 256 --provider "$PROVIDER" | tail -n 1
step "all steps passed on $PROVIDER"
