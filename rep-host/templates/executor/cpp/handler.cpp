
// `{{ step.kind }}`: with = { name: string, delay_ms?: integer } -> { "greeting": "hello, <name>" }.
static rep::Result {{ step.fn }}(rep::Step& step, const json& with) {
    json name = with.value("name", json());
    // A bad `with` does not get better by retrying: not retriable.
    if (!name.is_string()) throw rep::StepError("{{ step.kind }}: with.name must be a string, got " + name.dump()).not_retriable();
    // Never block: to wait, return step.wait(ms) and be called again; stop when cancelled.
    uint64_t delay_ms = with.value("delay_ms", uint64_t{0});
    if (step.elapsed_ms() < delay_ms) {
        if (step.cancelled()) throw rep::StepError("{{ step.kind }}: cancelled").cause("cancelled").not_retriable();
        return step.wait(delay_ms - step.elapsed_ms());
    }
    step.log("info", "greeting " + name.get<std::string>());
    json output;
    output["greeting"] = "hello, " + name.get<std::string>();
    return output;
}
