"""Runs the Python code blocks of Markdown pages, as a reader would paste them.

    python docs/run_snippets.py README.md docs/getting_started.md docs/guide/*.md

The ```python blocks of one page run in order in one namespace (a page builds
on its earlier blocks), in a temporary working directory. A block right after
a line ``<!-- snippet: skip -->`` is not run (say why in the page). Exits with
1 and names the page and line of the first failing block of each page.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
SKIP = "<!-- snippet: skip -->"


def blocks(text: str):
    """(line number, code) of each ```python block that is not marked skip."""
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip().splitlines()
        if before and before[-1].strip() == SKIP:
            continue
        yield text.count("\n", 0, match.start()) + 2, match.group(1)


def run_page(path: Path) -> tuple[int, str | None]:
    """Number of blocks run, and the error of the first failing one (or None)."""
    namespace = {"__name__": "__snippet__"}
    count = 0
    start = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="dqp-snippets-") as folder:
        os.chdir(folder)
        try:
            for line, code in blocks(path.read_text()):
                count += 1
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(code, f"{path}:{line}", "exec"), namespace)
                except Exception:
                    return count, f"{path}:{line}: the block failed\n{traceback.format_exc(limit=3)}"
        finally:
            os.chdir(start)
    return count, None


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    failures = 0
    for name in argv:
        path = Path(name).resolve()
        began = time.perf_counter()
        count, error = run_page(path)
        seconds = time.perf_counter() - began
        if error:
            failures += 1
            print(f"FAIL {name}: {error}")
        else:
            print(f"ok   {name}: {count} block(s) in {seconds:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
