#!/usr/bin/env bash
# {{ name }}'s CI: build, run the sample flow under tm, certify with rep-conformance, fuzz the
# flow semantics.
# Needs tm and rep-conformance on PATH (README.md, "Install the tools"); the reports go to
# reports/ (JUnit and JSON, for the CI to keep).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

{{ build }}
executor="{{ ci_out_dir }}/{{ name }}"

# The sample flow must complete: tm exits 0 and prints the run as JSON.
tm --executor-path "$executor" runtime run --manifest flows/manifest.json \
    --flow {{ flow }} --inputs @flows/sample.inputs.json

# REP v0.1 conformance with the fixtures of conformance/ (one run completes, one fails, one
# is cancelled while running), and the semantic tests of rep.probe. Exit code 0: nothing failed.
mkdir -p reports
rep-conformance run --executor "$executor" --fixtures conformance \
    --junit reports/rep-conformance.xml --json reports/rep-conformance.json

# Flow semantics: 500 generated flows over rep.probe, each compared with rep-conformance's
# model of Flow IR (a fixed seed: the same cases every run). A difference is shrunk and written
# to reports/fuzz/ with a command that reproduces it.
rep-conformance fuzz --executor "$executor" --seed 1 --cases 500 --out reports/fuzz
