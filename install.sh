#!/usr/bin/env bash
# install.sh — builds rep's five programs with one cargo build and installs them:
#   tm               the host (TraceMind's runtime side)
#   mock-executor    the reference executor
#   rep-conformance  the certifier
#   rep-replay       an executor that answers with a recorded transcript
#   rep-bridge       stdio ↔ serial/TCP/simulator bridge for executors on devices
#
# Usage:
#   bash install.sh                  release build, into $CARGO_HOME/bin (~/.cargo/bin, where
#                                    `cargo install` puts programs)
#   bash install.sh --prefix DIR     into DIR/bin instead
#   bash install.sh --debug          a debug build (faster to build, slower to run)
#
# The build shares this checkout's target/ (or $CARGO_TARGET_DIR): run again after a `git
# pull`, only what changed is rebuilt. Each program is replaced whole (copied beside, then
# renamed), so a running copy is never overwritten in place. $CARGO names the cargo to run.
set -euo pipefail

prefix="${CARGO_HOME:-$HOME/.cargo}"
profile=release
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix)
            [[ $# -ge 2 ]] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }
            prefix="$2"
            shift 2
            ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --debug) profile=dev; shift ;;
        -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
programs=(tm mock-executor rep-conformance rep-replay rep-bridge)
bin_args=()
for program in "${programs[@]}"; do
    bin_args+=(--bin "$program")
done

cd "$root"
"${CARGO:-cargo}" build --locked --profile "$profile" \
    -p rep-host -p mock-executor -p rep-conformance -p rep-bridge "${bin_args[@]}"

target="${CARGO_TARGET_DIR:-$root/target}"
case "$profile" in
    dev) built="$target/debug" ;;
    *) built="$target/$profile" ;;
esac
mkdir -p "$prefix/bin"
for program in "${programs[@]}"; do
    cp "$built/$program" "$prefix/bin/.$program.installing"
    chmod 755 "$prefix/bin/.$program.installing"
    mv -f "$prefix/bin/.$program.installing" "$prefix/bin/$program"
done
echo "install.sh: installed ${programs[*]} into $prefix/bin"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "install.sh: $prefix/bin is not on PATH: add it to use them by name" >&2 ;;
esac
