// rep_executor.hpp — a C++17 wrapper over the C REP v0.1 executor library (rep_executor.h):
// step handlers are std::function taking and returning nlohmann::json.
//
//     rep::Executor ex;
//     ex.step("dsl.emit", [](rep::Step&, const rep::json& with) -> rep::Result { return with; });
//     return ex.serve_stdio();
//
// A handler returns the step's output (any JSON value), or `step.wait(ms)` to be called again
// later without blocking the executor (e.g. while waiting for a device), and throws
// rep::StepError to fail the attempt. Any other exception fails the attempt as an internal
// error (3002, cause "panic", not retried). Everything else — JSON-RPC, StartRun validation,
// the scheduler, references, retries, timeouts, Cancel, events — is the C library's.
#ifndef REP_EXECUTOR_HPP
#define REP_EXECUTOR_HPP

#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "rep_executor.h"
#include "rep_stdio.h"

namespace rep {

/// nlohmann's JSON with object members kept in document order (as serde_json's
/// `preserve_order` keeps them in the Rust executors): nlohmann::ordered_json.
using json = nlohmann::ordered_json;

/// What a handler returns: the step's output, or std::nullopt (from Step::wait) for "call me
/// again later".
using Result = std::optional<json>;

/// `s` without the blanks (space, tab, CR, LF) around it.
inline std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

/// A JSON number, or a string that is one ("75.0": the reference compiler bakes scalars as
/// strings, Flow IR dialect); std::nullopt otherwise.
inline std::optional<double> number(const json& v) {
    if (v.is_number()) return v.get<double>();
    std::string s = v.is_string() ? trim(v.get<std::string>()) : "";
    size_t used = 0;
    try {
        double d = std::stod(s, &used);
        if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

/// A failed attempt: REP error `code` (2001, a step failure, unless said otherwise) and a
/// message. A 2xxx failure is retried within the node's `retry.max` unless not_retriable().
class StepError : public std::runtime_error {
public:
    explicit StepError(const std::string& message, int code = 2001)
        : std::runtime_error(message), code_(code) {}
    /// The same error, never retried.
    StepError& not_retriable() { retriable_ = false; return *this; }
    /// The same error with a machine-readable cause: "timeout", "cancelled" or "panic".
    StepError& cause(const char* cause) { cause_ = cause; return *this; }
    int code() const { return code_; }
    std::optional<bool> retriable() const { return retriable_; }
    const char* cause() const { return cause_; }

private:
    int code_;
    std::optional<bool> retriable_;
    const char* cause_ = nullptr;
};

/// The step being run (valid during the handler call).
class Step {
public:
    explicit Step(rep_step* step) : step_(step) {}
    /// The attempt number, from 1.
    uint32_t attempt() const { return rep_step_attempt(step_); }
    /// The node id.
    std::string id() const { return parse(rep_step_id(step_)).get<std::string>(); }
    /// The run inputs (StartRun.inputs).
    json inputs() const { return parse(rep_step_inputs(step_)); }
    /// The whole Flow IR document (e.g. for constants.policy).
    json ir() const { return parse(rep_step_ir(step_)); }
    /// Milliseconds since this attempt started.
    uint64_t elapsed_ms() const { return rep_step_elapsed_ms(step_); }
    /// Whether the attempt must stop (run cancelled or stopping, node timeout): return or throw
    /// promptly.
    bool cancelled() const { return rep_step_cancelled(step_); }
    /// "Call me again within `ms` ms": `return step.wait(10);`.
    Result wait(uint64_t ms) {
        rep_step_wait(step_, ms > 60000 ? 60000u : static_cast<uint32_t>(ms));
        return std::nullopt;
    }
    /// A `log` event for this step.
    void log(const char* level, const std::string& message) {
        rep_step_log(step_, level, message.c_str());
    }

private:
    static json parse(rep_json v) { return json::parse(v.p, v.p + v.n); }
    rep_step* step_;
};

/// Runs one attempt: the node's `with` (references resolved) in, the output out.
using Handler = std::function<Result(Step&, const json& with)>;

/// A REP v0.1 executor: handlers by step kind, served on stdio.
class Executor {
public:
    /// `version` (semver) is what Runtime.Capabilities advertises.
    explicit Executor(const char* version = REP_EXECUTOR_VERSION)
        : ex_(new rep_executor), version_(version) {}

    /// Registers `handler` for step kind `kind` (a Flow IR node.type). `switch` and `finish`
    /// are built in.
    Executor& step(std::string kind, Handler handler) {
        entries_.push_back(Entry{std::move(kind), std::move(handler)});
        return *this;
    }

    /// Registers `rep.probe` (rep_executor_add_probe), the probe step kind of rep-conformance's
    /// semantic tests: a conformance extension, not part of REP v0.1 (docs/protocol.md).
    Executor& probe() {
        probe_ = true;
        return *this;
    }

    /// Serves REP on stdin/stdout until stdin closes. Returns the process exit code: 0, or 1
    /// (with the reason on stderr) when stdout broke, a handler could not be registered
    /// (REP_MAX_KINDS) or the library was built with other limits (REP_ERR_LAYOUT).
    int serve_stdio() {
        rep_io io;
        rep_stdio_io(&io);
        return serve(io);
    }

    /// Serves REP through any I/O callbacks (see rep_io).
    int serve(const rep_io& io) {
        rep_err err = rep_executor_init(ex_.get(), &io, version_);
        for (Entry& e : entries_) {
            if (err == REP_OK) {
                err = rep_executor_add_step(ex_.get(), e.kind.c_str(), &trampoline, &e);
            }
        }
        if (err == REP_OK && probe_) {
            err = rep_executor_add_probe(ex_.get());
        }
        if (err == REP_OK) {
            err = rep_serve(ex_.get());
        }
        if (err != REP_OK) {
            std::fprintf(stderr, "rep::Executor: %s\n", rep_err_str(err));
        }
        return err == REP_OK ? 0 : 1;
    }

private:
    struct Entry {
        std::string kind;
        Handler handler;
    };

    static rep_step_result trampoline(rep_step* raw, rep_json with, rep_writer* out,
                                      void* user) {
        Entry& entry = *static_cast<Entry*>(user);
        Step step(raw);
        try {
            Result result = entry.handler(step, json::parse(with.p, with.p + with.n));
            if (!result) {
                return REP_STEP_PENDING;
            }
            std::string text = result->dump();
            rep_w_value(out, rep_json{text.data(), text.size()});
            return REP_STEP_DONE;
        } catch (const StepError& e) {
            rep_step_fail(raw, e.code(), e.what());
            if (e.retriable()) {
                rep_step_set_retriable(raw, *e.retriable());
            }
            rep_step_set_cause(raw, e.cause());
        } catch (const std::exception& e) {
            rep_step_fail(raw, 3002, (std::string("step handler threw: ") + e.what()).c_str());
            rep_step_set_retriable(raw, false);
            rep_step_set_cause(raw, "panic");
        } catch (...) {
            // Nothing may unwind through the C library.
            rep_step_fail(raw, 3002, "step handler threw something that is not a std::exception");
            rep_step_set_retriable(raw, false);
            rep_step_set_cause(raw, "panic");
        }
        return REP_STEP_FAILED;
    }

    std::unique_ptr<rep_executor> ex_; // megabytes: on the heap, left untouched until used
    const char* version_;
    bool probe_ = false;
    std::deque<Entry> entries_;        // a deque: entries never move, so `user` stays valid
};

}  // namespace rep

#endif  // REP_EXECUTOR_HPP
