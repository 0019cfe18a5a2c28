#!/bin/sh
# ci/release-rustc.sh RUSTC ARGS...: ci/release.sh's RUSTC_WORKSPACE_WRAPPER (copied to a fixed
# path first: cargo hashes the wrapper's path into this package's -C metadata). Cargo runs it for
# this package's own crates only (library, binary, build script): it remaps the checkout
# (LST_RELEASE_SRC) to /build/litellm-stack. The flags in RUSTFLAGS are the same for every
# checkout of one machine, so the dependencies compiled once are reused by a build from
# another checkout path. The remap goes first: rustc uses the last matching
# --remap-path-prefix, so RUSTFLAGS' target-dir remap wins for files under the target dir.
rustc=$1
shift
exec "$rustc" "--remap-path-prefix=${LST_RELEASE_SRC:?set by ci/release.sh}=/build/litellm-stack" "$@"
