"""Run the real `mailstage` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def as_user(name: str) -> dict[str, str]:
    return {"USER": name, "LOGNAME": name}
