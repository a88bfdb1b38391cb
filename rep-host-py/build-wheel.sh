#!/usr/bin/env bash
# Builds the `rep-host` wheel into target/wheels (docs/python.md): the `rep_host` Python
# package over its extension module, and the workspace's programs as the wheel's scripts.
#
#   bash rep-host-py/build-wheel.sh [--dev] [MATURIN_ARG…]
#
#   --dev     the dev profile (what the tests use: shares target/debug with the workspace);
#             default: release
#   MATURIN   the maturin to run (default: maturin on PATH)
#
# maturin builds one kind of artifact per wheel (an extension module here), so the programs
# are built first and staged in rep-host-py/wheel-data/scripts, which pyproject.toml names
# as the wheel's data: pip installs them beside the Python, on the virtualenv's PATH. `tm`
# is staged as `rep-tm`: a wheel file named `tm` would overwrite TraceMind's console
# script of the same name, or be overwritten by it, depending on the order of the two
# `pip install`s (see docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
if [ "${1:-}" = --dev ]; then
    profile=dev
    shift
fi
maturin=${MATURIN:-maturin}

# (binary, name in the wheel)
programs=(
    "tm rep-tm"
    "rep-conformance rep-conformance"
    "rep-replay rep-replay"
    "rep-bridge rep-bridge"
    "mock-executor mock-executor"
)
bins=()
for program in "${programs[@]}"; do
    bins+=(--bin "${program%% *}")
done
cargo build --locked --profile "$profile" -p rep-host -p rep-conformance -p rep-bridge \
    -p mock-executor "${bins[@]}"

target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
profile_dir=$target_dir/$([ "$profile" = dev ] && echo debug || echo "$profile")

scripts=rep-host-py/wheel-data/scripts
rm -rf rep-host-py/wheel-data
mkdir -p "$scripts"
for program in "${programs[@]}"; do
    built=$profile_dir/${program%% *}
    staged=$scripts/${program##* }
    # Debug info is most of a dev build's size (100+ MB a program): the wheel goes without.
    if ! strip --strip-debug -o "$staged" "$built" 2>/dev/null; then
        cp "$built" "$staged"
    fi
done

# One wheel in target/wheels: the previous build's, of an older version, goes.
rm -f "$target_dir"/wheels/rep_host-*.whl
"$maturin" build --locked --manifest-path rep-host-py/Cargo.toml --profile "$profile" "$@"
