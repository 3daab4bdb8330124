"""`python -m bench [NAME [ARGS...]]` (or `./dev bench ...`): list the benchmarks or run one by name.

Benchmarks are found, not registered: every module in bench/ that can run as a script (it has an
`if __name__ == "__main__":` block) is one, named after its file without a `bench_` prefix, so an
engineer adding a benchmark only adds a file.  Modules starting with `_` and the corpus are helpers.
"""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
HELPERS = {"corpus", "__init__", "__main__"}


def benchmarks() -> dict[str, tuple[str, str]]:
    """name -> (module, first docstring line), read without importing anything."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(BENCH_DIR.glob("*.py")):
        module = path.stem
        if module in HELPERS or module.startswith("_"):
            continue
        source = path.read_text(encoding="utf-8")
        if '__name__ == "__main__"' not in source and "__name__ == '__main__'" not in source:
            continue
        doc = ast.get_docstring(ast.parse(source)) or ""
        found[module.removeprefix("bench_")] = (module, doc.strip().splitlines()[0] if doc.strip() else "")
    return dict(sorted(found.items()))


def usage(found: dict[str, tuple[str, str]]) -> str:
    width = max((len(name) for name in found), default=4)
    lines = ["usage: ./dev bench NAME [ARGS...]   (or .venv/bin/python -m bench NAME ...)", "", "benchmarks:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in found.items()]
    lines += [
        f"  {'all':<{width}}  every benchmark above, one after another, default arguments",
        "",
        "`./dev bench NAME --help` shows a benchmark's options; figures and how they were taken: bench/README.md",
    ]
    return "\n".join(lines)


def run(module: str, args: list[str]) -> int:
    saved_argv = sys.argv
    sys.argv = [f"bench {module.removeprefix('bench_')}", *args]
    try:
        runpy.run_module(f"bench.{module}", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv = saved_argv
    return 0


def main(argv: list[str]) -> int:
    found = benchmarks()
    if not argv or argv[0] in {"-h", "--help", "help", "list"}:
        print(usage(found))
        return 0
    name, args = argv[0], argv[1:]
    if name == "all":
        failed = [n for n, (module, _) in found.items() if run(module, []) != 0]
        if failed:
            print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    if name not in found:
        print(f"bench: no benchmark named {name!r}\n\n{usage(found)}", file=sys.stderr)
        return 2
    return run(found[name][0], args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
