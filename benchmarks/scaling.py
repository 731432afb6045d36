#!/usr/bin/env python3
"""Per-file scaling: twice the findings (or re-assignments) in one file should cost about twice the time.

    python benchmarks/scaling.py [--sizes 2500,5000,10000,20000] [--shapes findings,sql]

Each shape builds one module per size and lints it in this process (``analyse_here``: parse, walk,
rules, positions; the file's CPU time, best of ``--repeat``). Shapes (issue 19 item 4):

- ``findings``: N hardcoded passwords in one module, N findings with their fixes;
- ``sql``: N re-assignments ``q = q + ...`` of one SQL string in an endpoint, half of them adding
  request data, executed once.

Prints, per shape, the time per size and the ratio to the previous size (about 2 is linear; about
4 is quadratic). Run it niced and alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backlint.api import settings_for  # noqa: E402
from backlint.core.catalog import load_catalog  # noqa: E402
from backlint.core.config import Config  # noqa: E402
from backlint.core.results import FileKind  # noqa: E402
from backlint.pipeline import filestage  # noqa: E402
from backlint.pipeline.discovery import SourceFile  # noqa: E402


def findings(n: int) -> str:
    return "".join(f'password_{i} = "hunter2hunter2_{i}"\n' for i in range(n))


def sql(n: int) -> str:
    tainted = '    q = q + " and a{} = \'" + name + "\'"\n'
    constant = '    q = q + " and b{} = 1"\n'
    lines = "".join((tainted if i % 2 else constant).format(i) for i in range(n))
    return (
        "import sqlite3\nfrom flask import Flask, request\napp = Flask(__name__)\n\n\n"
        '@app.route("/items")\ndef items():\n    name = request.args["name"]\n    q = "select * from t where 1=1"\n'
        + lines
        + "    return sqlite3.connect('a').execute(q)\n"
    )


SHAPES = {"findings": findings, "sql": sql}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2500,5000,10000,20000")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings = settings_for(Config(root=REPO, source=None, select=("ALL",)), load_catalog())
    source = SourceFile(path=Path("app/views.py"), display="app/views.py", relative="app/views.py")
    filestage.analyse_here(source, "x = 1\n", FileKind.PRODUCTION, settings)  # imports, tables
    for shape in args.shapes.split(","):
        previous = None
        print(f"{shape}:")
        for size in (int(s) for s in args.sizes.split(",")):
            text = SHAPES[shape](size)
            best = float("inf")
            for _ in range(args.repeat):
                start = time.process_time()
                found, _facts, *_ = filestage.analyse_here(source, text, FileKind.PRODUCTION, settings)
                best = min(best, time.process_time() - start)
            ratio = f"  x{best / previous:.2f}" if previous else ""
            print(f"  N={size:>6,}  {best:7.2f} s CPU  {len(found):>6,} findings{ratio}", flush=True)
            previous = best
    return 0


if __name__ == "__main__":
    sys.exit(main())
