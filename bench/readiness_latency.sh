#!/usr/bin/env bash
# Readiness detection latency (server turns ready -> poller reports), median and max over
# 20 runs, and the poller's CPU use while it waits. Built in release mode, as shipped.
# Usage: bench/readiness_latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLK_TCK=$(getconf CLK_TCK)
export CLK_TCK
cargo build --release --quiet --example readiness_latency
exec target/release/examples/readiness_latency
