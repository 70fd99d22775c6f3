"""Run the real `mailstage` command: in a subprocess (exit codes, signals, isolation), or
in-process through `main(argv)` where a test is about a command's logic (much faster)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent


def mailstage_command() -> list[str]:
    script = Path(sys.executable).parent / "mailstage"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailstage.cli.main"]


def run_cli(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [*mailstage_command(), *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


def run_cli_here(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`main(argv)` in this process, with its own stdin/stdout/stderr and environment."""
    from mailstage.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env or {}),
        mock.patch.object(sys, "stdin", io.StringIO(input or "")),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code if isinstance(exit.code, int) else 2
    return subprocess.CompletedProcess(["mailstage", *args], code, out.getvalue(), err.getvalue())
