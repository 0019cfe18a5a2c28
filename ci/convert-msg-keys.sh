#!/usr/bin/env bash
# Rewrites every `Msg::new("literal")` in src/ (with or without a `crate::i18n::` prefix,
# on one line or split over several) into `msg!("literal")`, whose key the compiler checks
# against assets/i18n/. Run once from the repository root, after merging; idempotent.
#
# It also makes `msg!`/`key!` callable everywhere in the crate without an import:
# `#[macro_use] pub mod i18n;` first among lib.rs's modules (textual macro scope only reaches
# modules declared after it).
#
# What it cannot rewrite is a key that is not a literal at the call (`Msg::new(key)`,
# `Msg::new(match … { … })`): once `Msg::new` takes a `Key`, the compiler lists those; write
# `key!("…")` where each key is chosen.
set -euo pipefail
cd "$(dirname "$0")/.."

# A file may import Msg under another name (the wizard's `use crate::i18n::Msg as Text;`).
files=$(grep -rlP '\b(Msg|Text)::new\(\s*"' src --include='*.rs' || true)
for f in $files; do
    names=Msg
    for alias in $(grep -oP '\bMsg as \K[A-Za-z_][A-Za-z0-9_]*' "$f" | sort -u); do
        names="$names|$alias"
    done
    NAMES="$names" perl -0pi -e \
        's/(?:(?:crate|super|litellm_stack)::)?(?:i18n::)?\b(?:$ENV{NAMES})::new\(\s*("[A-Za-z0-9_.\-]+")\s*\)/msg!($1)/g' "$f"
done

if ! grep -q '^#\[macro_use\]$' src/lib.rs; then
    perl -0pi -e 's/^pub mod i18n;\n//m; s/^(pub mod )/#[macro_use]\npub mod i18n;\n\n$1/m' src/lib.rs
fi

left=$(grep -rnP '\bMsg::new\(\s*"' src --include='*.rs' || true)
echo "converted: $(echo "$files" | grep -c . || true) file(s)"
if [ -n "$left" ]; then
    echo "literal Msg::new calls not rewritten (unusual key characters?):"
    echo "$left"
fi

# Imports of Msg that only served Msg::new go; then the layout rustfmt wants.
cargo fix --lib --tests --allow-dirty --allow-staged --quiet
cargo fmt --all
