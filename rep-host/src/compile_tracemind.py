# Run by `tm verify online --sources` as `python -c <this file> <job JSON>`: compiles WDL/PDL
# sources with TraceMind's compiler (tm.dsl.compile_paths, as TraceMind's own
# `tm verify online` does) and prints one JSON line on stdout:
#   {"ok": true, "artifacts": [{"kind", "identifier", "source", "output"}, ...]}
#   {"ok": false, "error": "not-installed", "detail": "<ImportError>"}
#   {"ok": false, "error": "compile", "problems": ["<file>:<line>:<column>: <message>", ...]}
#   {"ok": false, "error": "exists", "path": "<file it would not overwrite without force>"}
# Anything the compiler prints goes to stderr. Job: {sources, out_dir, force, lint, schema}.
import contextlib
import json
import os
import re
import sys

# TraceMind's refusal to overwrite a file (tm.dsl.compiler, without force).
EXISTS = re.compile(r"Output file '(.+)' already exists \(use --force to overwrite\)")


def report(result):
    sys.__stdout__.write(json.dumps(result) + "\n")
    sys.__stdout__.flush()


def shorten(text):
    # Paths under the working directory, relative; "P: P: message" said once.
    cwd = os.getcwd().rstrip("/") + "/"
    text = text.replace(cwd, "")
    head, sep, rest = text.partition(": ")
    if sep and rest.startswith(head + ": "):
        text = rest
    return text


def problems(exc):
    cause = exc.__cause__
    while cause is not None:
        location = getattr(cause, "location", None)
        filename = getattr(cause, "filename", None)
        message = getattr(cause, "message", None)
        if location is not None and filename and message:
            line = getattr(location, "line", "?")
            column = getattr(location, "column", "?")
            return [shorten(f"{filename}:{line}:{column}: {message}")]
        cause = cause.__cause__
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("Lint failures prevent compilation"):
        lines = lines[1:]
    return [shorten(line) for line in lines] or [type(exc).__name__]


def main():
    job = json.loads(sys.argv[1])
    try:
        from pathlib import Path

        import yaml  # noqa: F401  (the [yaml] extra: the compiler writes flow YAML)
        from tm.dsl import CompileError, compile_paths
    except ImportError as exc:
        report({"ok": False, "error": "not-installed", "detail": str(exc)})
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            artifacts = compile_paths(
                [Path(p) for p in job["sources"]],
                out_dir=Path(job["out_dir"]),
                force=job["force"],
                run_lint=job["lint"],
                emit_ir=True,
                ir_schema_path=Path(job["schema"]),
            )
    except (CompileError, OSError, ValueError) as exc:
        exists = EXISTS.fullmatch(str(exc))
        if exists:
            report({"ok": False, "error": "exists", "path": shorten(exists.group(1))})
        else:
            report({"ok": False, "error": "compile", "problems": problems(exc)})
        return
    report(
        {
            "ok": True,
            "artifacts": [
                {
                    "kind": a.kind,
                    "identifier": a.identifier,
                    "source": str(a.source),
                    "output": str(a.output),
                }
                for a in artifacts
            ],
        }
    )


main()
