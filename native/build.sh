#!/usr/bin/env bash
# native/build.sh — builds the native executors into target/native/:
#   c-executor     the C library on stdio (gcc)
#   cpp-executor   the C++17 wrapper's example (g++, nlohmann-json3-dev)
#   firmware.elf   the bare-metal Cortex-M3 firmware for lm3s6965evb (PL011 UART)
#                  (gcc-arm-none-eabi, libnewlib-arm-none-eabi)
#   firmware-mps2-an385.elf  the same for mps2-an385 (CMSDK UART)
#   qemu-executor, mps2-an385-executor  each in QEMU through rep-bridge (qemu-system-arm)
#   freertos.elf   the FreeRTOS firmware for lm3s6965evb, and freertos-executor (QEMU)
#   freertos-posix-executor  the same application on Linux (FreeRTOS's POSIX port; ASan, UBSan)
#
# The FreeRTOS kernel (V11, MIT) comes from crates.io, in the freertos-next crate: build.sh
# fetches it with cargo (native/freertos/kernel/Cargo.toml and its Cargo.lock) into cargo's
# registry cache and remembers where it is; FREERTOS_KERNEL=DIR uses a kernel of your own
# (the FreeRTOS-Kernel folder), REP_NATIVE_FETCH=0 forbids the fetch (the tests set it: they
# build with what an earlier build.sh fetched).
#
# Usage:
#   bash native/build.sh             build what the installed toolchains can build
#   bash native/build.sh test        build, then run the C unit tests (AddressSanitizer + UBSan)
#   bash native/build.sh fuzz [SECS] build the libFuzzer targets (clang, libclang-rt-14-dev) and
#                                    fuzz the request handler SECS seconds (default 60) under
#                                    the Linux limits, then SECS seconds under the firmware's
#   bash native/build.sh bench       build the benchmark programs (target/native/bench/; run by
#                                    python3 bench/scripts/bench.py native-poll)
#   bash native/build.sh lint        static analysis (cppcheck): no finding at all under the
#                                    Linux and the firmware limits, and no MISRA C:2012 rule
#                                    broken that docs/native-executors.md's deviation record
#                                    does not list; then the stack gate: each firmware's worst
#                                    stack within docs/native-executors.md's budgets (python3)
#
# The artifacts go to $REP_NATIVE_OUT, else $CARGO_TARGET_DIR/native, else target/native.
# It ends with one line on stderr naming what it built and what it skipped.
# A missing toolchain skips what needs it, with a note on stderr; with REP_NATIVE_REQUIRED=1
# (as CI sets it) a missing toolchain is an error. Builds are incremental (make) and
# serialized by a lock, so concurrent test processes can all call this script.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${REP_NATIVE_OUT:-${CARGO_TARGET_DIR:-$root/target}/native}
command=${1:-build}
required=${REP_NATIVE_REQUIRED:-0}

case "$command" in
    build | test | fuzz | lint | bench) ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "native/build.sh: unknown command '$command' (build, test, fuzz, lint, bench; see --help)" >&2
        exit 2
        ;;
esac

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

missing=()
# Notes a toolchain that is not there: skipped, or an error under REP_NATIVE_REQUIRED=1.
skip() {
    echo "native/build.sh: skipping $1: $2" >&2
    missing+=("$1")
}

has() {
    command -v "$1" >/dev/null 2>&1
}

targets=()
if ! has make; then
    echo "native/build.sh: make is missing (apt-get install make)" >&2
    exit 1
fi
if has cc; then
    targets+=("$out/c-executor" "$out/hello-executor" "$out/tests/layout-mismatch")
else
    skip c-executor "no C compiler (apt-get install gcc)"
fi
if has c++ && echo '#include <nlohmann/json.hpp>' | c++ -std=c++17 -E -x c++ - >/dev/null 2>&1; then
    targets+=("$out/cpp-executor")
else
    skip cpp-executor "no C++ compiler with nlohmann/json.hpp (apt-get install g++ nlohmann-json3-dev)"
fi
if has arm-none-eabi-gcc && [ -f "$(arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -print-file-name=libc_nano.a)" ]; then
    targets+=("$out/firmware.elf" "$out/qemu-executor" "$out/firmware-mps2-an385.elf"
        "$out/mps2-an385-executor")
else
    skip "the bare-metal firmware and its executors" \
        "no arm-none-eabi-gcc with newlib-nano (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
fi
# Where FreeRTOS-Kernel/ is, on stdout; fetched once, then remembered in $out.
freertos_kernel() {
    local manifest="$root/native/freertos/kernel/Cargo.toml" cache="$out/freertos-kernel.path"
    local kernel crate
    if [ -n "${FREERTOS_KERNEL:-}" ]; then
        echo "$FREERTOS_KERNEL"
        return
    fi
    if [ -f "$cache" ] && [ "$cache" -nt "$root/native/freertos/kernel/Cargo.lock" ]; then
        kernel=$(cat "$cache")
        if [ -f "$kernel/tasks.c" ]; then
            echo "$kernel"
            return
        fi
    fi
    if [ "${REP_NATIVE_FETCH:-1}" != 1 ]; then
        echo "REP_NATIVE_FETCH=0 and the FreeRTOS kernel was not fetched yet (bash native/build.sh fetches it)" >&2
        return 1
    fi
    if ! has cargo; then
        echo "no cargo to fetch the FreeRTOS kernel from crates.io (https://rustup.rs)" >&2
        return 1
    fi
    cargo fetch --locked --quiet --manifest-path "$manifest" >&2 || return 1
    crate=$(cargo metadata --locked --offline --format-version 1 --manifest-path "$manifest" |
        grep -o '"manifest_path":"[^"]*/freertos-next-[0-9][^"/]*/Cargo.toml"' | head -n 1 |
        sed -e 's/^"manifest_path":"//' -e 's|/Cargo.toml"$||')
    kernel="$crate/FreeRTOS-Kernel"
    if [ ! -f "$kernel/tasks.c" ]; then
        echo "the freertos-next crate has no FreeRTOS-Kernel/ at $kernel" >&2
        return 1
    fi
    echo "$kernel" >"$cache"
    echo "$kernel"
}

kernel=""
if kernel=$(freertos_kernel); then
    if has arm-none-eabi-gcc && [ -f "$(arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -print-file-name=libc_nano.a)" ]; then
        targets+=("$out/freertos.elf" "$out/freertos-executor")
    else
        skip "freertos.elf and freertos-executor" "no arm-none-eabi-gcc with newlib-nano (see above)"
    fi
    if has cc; then
        targets+=("$out/freertos-posix-executor")
    fi
else
    skip "the FreeRTOS executors" "the FreeRTOS kernel is not available (above)"
fi

if [ "$command" = test ]; then
    if has cc; then
        targets+=("$out/tests/unit-tests")
    else
        skip "unit tests" "no C compiler"
    fi
fi
if [ "$command" = fuzz ]; then
    probe='int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d[0] + (int)n; }'
    if has clang && echo "$probe" | clang -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1; then
        targets+=("$out/fuzz/fuzz-request-linux" "$out/fuzz/fuzz-request-firmware")
    else
        skip "fuzz target" "no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
    fi
fi

if [ "$command" = bench ]; then
    if has cc; then
        targets+=("$out/bench/poll-bench")
    else
        skip "benchmarks" "no C compiler"
    fi
fi
if [ "$command" = lint ] && ! has cppcheck; then
    skip "static analysis" "no cppcheck (apt-get install cppcheck)"
fi
if [ "$command" = lint ] && ! has python3; then
    skip "the stack gate" "no python3 (apt-get install python3)"
fi

if [ "$required" = 1 ] && [ ${#missing[@]} -gt 0 ]; then
    echo "native/build.sh: REP_NATIVE_REQUIRED=1 and toolchains are missing for: ${missing[*]}" >&2
    exit 1
fi

if [ ${#targets[@]} -gt 0 ]; then
    make -s --no-print-directory -C "$root/native" -j2 OUT="$out" FREERTOS_KERNEL="$kernel" \
        "${targets[@]}" >&2
fi
# One line saying what this run left in $out and what it skipped (the notes above say why).
built=()
for target in "${targets[@]}"; do
    built+=("${target#"$out"/}")
done
summary="native/build.sh: built in $out: ${built[*]:-nothing}"
if [ ${#missing[@]} -gt 0 ]; then
    summary+="; skipped: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')"
fi
echo "$summary" >&2
# The lock guards the build only: tests and the fuzzer run without it.
flock -u 9

case "$command" in
    test)
        if [ -x "$out/tests/unit-tests" ]; then
            (cd "$root" && "$out/tests/unit-tests")
        fi
        ;;
    fuzz)
        seconds=${2:-60}
        for limits in linux firmware; do
            fuzzer="$out/fuzz/fuzz-request-$limits"
            [ -x "$fuzzer" ] || continue
            corpus="$out/fuzz/corpus-$limits"
            mkdir -p "$corpus"
            log="$out/fuzz/fuzz-$limits.log"
            # New inputs go to the scratch corpus; the committed seeds are only read. The log
            # keeps libFuzzer's progress lines; the summary goes to stderr.
            if "$fuzzer" -max_total_time="$seconds" -max_len=16384 \
                -dict="$root/native/c/fuzz/rep.dict" -artifact_prefix="$out/fuzz/$limits-" \
                -print_final_stats=1 "$corpus" "$root/native/c/fuzz/corpus" >"$log" 2>&1; then
                runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
                rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
                echo "native/build.sh: fuzzed ${runs:-?} inputs in $seconds s (${rate:-?}/s) under the $limits limits, no crash (log: $log)" >&2
            else
                tail -n 40 "$log" >&2
                echo "native/build.sh: the fuzzer failed under the $limits limits: see $log and the $limits-crash-* input in $out/fuzz/" >&2
                exit 1
            fi
        done
        ;;
    lint)
        if has python3; then
            # The stack gate: every firmware built, against its budgets.
            for elf in firmware.elf firmware-mps2-an385.elf freertos.elf; do
                [ -f "$out/$elf" ] || continue
                python3 "$root/native/firmware/stack_budget.py" "$root/docs/native-executors.md" \
                    "$out/callgraph/${elf%.elf}" "$out/$elf" >&2
            done
        fi
        has cppcheck || exit 0
        cd "$root/native"
        sources=(c/*.c steps/*.c linux/*.c firmware/*.c firmware/*/*.c examples/*.c c/fuzz/*.c
            c/bench/*.c)
        kernel_includes=()
        if [ -n "$kernel" ]; then
            sources+=(freertos/*.c)
            # The kernel is not ours to lint: its headers are read, its findings ignored.
            kernel_includes=(-I"$kernel/include" -I"$kernel/portable/GCC/ARM_CM3"
                --suppress="*:$kernel/*")
        fi
        findings=0
        for limits in "linux/rep_config_linux.h" "firmware/rep_config_firmware.h"; do
            # unusedFunction: the library's API is used by applications cppcheck does not
            # see; missingIncludeSystem: the C library's headers are left out on purpose.
            report=$(cppcheck --enable=all --std=c99 --inline-suppr --quiet \
                --suppress=unusedFunction --suppress=missingIncludeSystem \
                -Ic -Isteps -Ilinux -Ifirmware -Ifreertos "${kernel_includes[@]}" \
                -I"$(dirname "$limits")" \
                -DREP_CONFIG_FILE="\"$(basename "$limits")\"" \
                --template='{file}:{line}: {severity}: {id}: {message}' "${sources[@]}" 2>&1)
            if [ -n "$report" ]; then
                echo "$report" >&2
                findings=$((findings + $(echo "$report" | wc -l)))
            fi
        done
        if [ "$findings" -gt 0 ]; then
            echo "native/build.sh: cppcheck reported $findings findings: fix them, or suppress a false positive inline with its reason (// cppcheck-suppress ID ; why)" >&2
            exit 1
        fi
        # MISRA C:2012 (cppcheck's addon) on the library's six sources, firmware limits: every
        # rule broken must be in the deviation record (its rows begin "| <rule> |").
        misra=$(cppcheck --addon=misra --std=c99 --quiet -Ic -Ifirmware \
            -DREP_CONFIG_FILE='"rep_config_firmware.h"' --template='{id}' \
            c/rep_json.c c/rep_ir.c c/rep_resolve.c c/rep_run.c c/rep_dispatch.c c/rep_probe.c 2>&1 |
            sed -n 's/^misra-c2012-//p' | sort -V | uniq -c)
        recorded=$(sed -n '/^### MISRA C:2012 deviation record/,/^## /s/^| \([0-9][0-9., ]*\) |.*/\1/p' \
            "$root/docs/native-executors.md" | tr -s ', ' '\n\n')
        unrecorded=()
        while read -r count rule; do
            grep -qx "$rule" <<<"$recorded" || unrecorded+=("$rule ($count)")
        done <<<"$misra"
        total=$(awk '{n += $1} END {print n + 0}' <<<"$misra")
        if [ ${#unrecorded[@]} -gt 0 ]; then
            echo "native/build.sh: MISRA C:2012 rules broken but not in the deviation record of docs/native-executors.md: ${unrecorded[*]}" >&2
            exit 1
        fi
        echo "native/build.sh: cppcheck: no finding (Linux and firmware limits); MISRA C:2012: $total findings, all of rules in the deviation record" >&2
        ;;
esac
