"""Process-wide protection for a process that holds secrets: no core dump.

A process that aborts (a C extension crash, SIGABRT, SIGQUIT) would otherwise leave
a core file holding the store's data key, the passwords and the client secrets it had
decrypted. The CLI, the TUI and the relay all start through `mailstage.cli.main`,
which calls this first.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource

PR_SET_DUMPABLE = 4


def disable_core_dumps() -> None:
    """Core file size 0 (soft and hard, so a child cannot raise it again), and, on
    Linux, not dumpable: no core, and other processes of the same user cannot attach
    with ptrace or read /proc/PID/mem."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _set_not_dumpable()


def _set_not_dumpable() -> None:
    try:  # the interpreter's own symbols include libc's (find_library costs ~100 ms)
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the rlimit above is what there is
        return
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
