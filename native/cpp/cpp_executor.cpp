// cpp-executor: the mock executor's step kinds in C++17 on rep_executor.hpp — opcua.read,
// opcua.write, policy.apply (the pdl/v0 threshold rule), dsl.emit; with._mock {delay_ms, fail};
// and the C library's rep.probe.
#include "rep_executor.hpp"

using rep::json;
using rep::number;
using std::string;

static string unquote(string k) { return k.erase(0, k.find_first_not_of('"')).erase(k.find_last_not_of('"') + 1); }
static json arm_value(const json& v) { return v.is_string() && number(v) ? json(*number(v)) : v; }
// An emit expression: action, temp, arms.active.<key>, a number, "text" or { k: expr, ... }.
static json eval(string e, const string& action, std::optional<double> temp, const json& arm) {
    size_t used = 0, depth = 0, start = 1;
    e = rep::trim(e);
    if (e.size() >= 2 && e.front() == '{' && e.back() == '}') {
        json object = json::object();
        for (size_t i = 1; i < e.size(); ++i) {  // the parts between commas outside braces
            bool end = i + 1 == e.size();
            if (!end && e[i] == '{') ++depth;
            if (!end && e[i] == '}' && depth > 0) --depth;
            if (!end && (e[i] != ',' || depth > 0)) continue;
            string part = e.substr(start, i - start), key = part.substr(0, part.find(':'));
            start = i + 1;
            if (key.size() < part.size())
                object[unquote(rep::trim(key))] = eval(part.substr(key.size() + 1), action, temp, arm);
        }
        return object;
    }
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') return e.substr(1, e.size() - 2);
    try { long long i = std::stoll(e, &used); if (used == e.size()) return i; } catch (...) {}
    if (auto n = number(e)) return *n;
    if (e == "action" || e == "temp") return e == "action" ? json(action) : temp ? json(*temp) : json();
    for (string prefix : {"arms.active.", "arms.default."})
        if (e.rfind(prefix, 0) == 0) return arm_value(arm.value(e.substr(prefix.size()), json()));
    return e;
}
static rep::Handler faulty(rep::Handler inner) {  // honours with._mock {delay_ms, fail}
    return [inner](rep::Step& step, json with) -> rep::Result {
        json mock = with.value("_mock", json::object());
        uint64_t delay = mock.value("delay_ms", uint64_t{0});
        with.erase("_mock");
        if (delay > 0 && step.cancelled()) throw rep::StepError("_mock: cancelled").cause("cancelled").not_retriable();
        if (step.elapsed_ms() < delay) return step.wait(delay - step.elapsed_ms());
        if (mock.value("fail", false)) throw rep::StepError("_mock: injected failure (fail: true)");
        return inner(step, with);
    };
}
static rep::Result read(rep::Step& step, const json& with) {
    json ids = with.value("node_ids", json()), values = json::object(), given = step.inputs().value("mock_values", json());
    if (!ids.is_null() && !ids.is_array()) throw rep::StepError("opcua.read: node_ids must be an array, got " + ids.dump()).not_retriable();
    for (const json& id : ids) {
        string key = id.is_string() ? id.get<string>() : id.dump();
        values[key] = given.is_object() && given.value(key, json()).is_number() ? given[key] : json(80.0);
    }
    return json{{"endpoint", with.value("endpoint", json())}, {"values", values}};
}
static rep::Result apply_policy(rep::Step& step, const json& with) {
    json policy = step.ir()["constants"]["policy"].value("policy", json::object()), out = json::object();
    if (policy.value("strategy", json()) != "pdl/v0" || !policy["params"].is_object())
        throw rep::StepError("policy.apply: expected a pdl/v0 policy with params").not_retriable();
    json arm = policy["params"].value("arms", json::object()).value("default", json::object());
    std::optional<double> temp, threshold = number(arm.value("threshold", json()));
    for (const json& v : with.value("values", json::object())) temp = temp ? temp : number(v);
    string action = arm.value("action_on_violation", json()).is_string() ? arm["action_on_violation"].get<string>() : "NONE";
    if (threshold && !(temp && *temp >= *threshold)) action = "NONE";
    if (!policy["params"].value("emit", json()).is_object()) return json{{"action", action}};
    for (auto& [k, v] : policy["params"]["emit"].items()) out[k] = v.is_string() ? eval(v, action, temp, arm) : v;
    return out;
}
static rep::Result write(rep::Step&, const json& w) {  // echoes its with
    return json{{"endpoint", w.value("endpoint", json())}, {"node_id", w.value("node_id", json())}, {"value", w.value("value", json())}, {"status", "ok"}};
}
static rep::Result emit(rep::Step&, const json& with) { return with; }
int main() {
    rep::Executor ex;
    ex.step("opcua.read", faulty(read)).step("opcua.write", faulty(write));
    ex.step("policy.apply", faulty(apply_policy)).step("dsl.emit", faulty(emit)).probe();
    return ex.serve_stdio();
}
