"""Run the ``gridpatrol`` command line in-process and keep what it printed (for tests)."""
from __future__ import annotations

import contextlib
import io


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``cli.main(argv)``: its exit code, stdout and stderr."""
    import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()
