#!/usr/bin/env bash
# Times the answers' validator on 40,000 models (budget: 1 s), and everything `render`
# computes from them before writing. Usage: bench/validate.sh [MODELS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example validate_models -- "${1:-40000}"
