#!/usr/bin/env bash
# Certify an executor with rep-conformance in any CI (docs/conformance.md quotes this file).
# Builds rep-conformance once per rep revision into CACHE_DIR (keep that directory between CI
# runs), runs it against EXECUTOR, and leaves JUnit and JSON reports in OUT_DIR for the CI to
# upload. The exit code is rep-conformance's: 0 nothing failed, 1 a MUST test failed, 2 usage.
#
#   EXECUTOR   the executor to certify (required)
#   FIXTURES   a directory of fixture flows (optional, see "Fixtures")
#   REP_SRC    a checkout of rep (default: the folder above this script)
#   CACHE_DIR  where rep-conformance is installed (default: ~/.cache/rep-conformance)
#   OUT_DIR    where the reports go (default: rep-conformance-reports)
#   REP_CONFORMANCE_FLAGS  more flags, e.g. "--strict --baseline known-failures.yaml"
set -euo pipefail
: "${EXECUTOR:?set EXECUTOR to the executor to certify}"
REP_SRC="${REP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CACHE_DIR="${CACHE_DIR:-$HOME/.cache/rep-conformance}"
OUT_DIR="${OUT_DIR:-rep-conformance-reports}"

# Build once per revision of rep; a modified checkout is always rebuilt.
revision="$(git -C "$REP_SRC" describe --always --dirty 2>/dev/null || echo unknown)"
if [[ "$revision" == unknown || "$revision" == *-dirty ]] \
    || [[ ! -x "$CACHE_DIR/bin/rep-conformance" ]] \
    || [[ "$(cat "$CACHE_DIR/revision" 2>/dev/null)" != "$revision" ]]; then
    cargo install --locked --force --path "$REP_SRC/conformance" --bin rep-conformance \
        --root "$CACHE_DIR"
    echo "$revision" > "$CACHE_DIR/revision"
fi

mkdir -p "$OUT_DIR"
# shellcheck disable=SC2086 # REP_CONFORMANCE_FLAGS is a list of flags
"$CACHE_DIR/bin/rep-conformance" run --executor "$EXECUTOR" ${FIXTURES:+--fixtures "$FIXTURES"} \
    --junit "$OUT_DIR/rep-conformance.xml" --json "$OUT_DIR/rep-conformance.json" \
    ${REP_CONFORMANCE_FLAGS:-}
