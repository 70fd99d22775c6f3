"""Process-wide protection for a process that holds secrets: no core dump.

A process that aborts (a C extension crash, SIGABRT, SIGQUIT) would otherwise leave
a core file holding the store's data key, the passwords and the client secrets it had
decrypted. The CLI, the TUI and the relay all start through `mailstage.cli.main`,
which calls this first.
"""

from __future__ import annotations

import resource

PR_SET_DUMPABLE = 4


def disable_core_dumps() -> None:
    """Core file size 0 (soft and hard, so a child cannot raise it again), and, on
    Linux, not dumpable: no core, and other processes of the same user cannot attach
    with ptrace or read /proc/PID/mem."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    if not _set_not_dumpable_lightly():
        _set_not_dumpable()


def _set_not_dumpable_lightly() -> bool:
    """prctl through _ctypes alone: the ctypes package costs ~1.5 ms more of every
    one-shot command (struct, its classes). The five arguments go as C ints, which the
    calling convention widens; a kernel that read anything but 0 would refuse with
    EINVAL (-1), and then ctypes does it with the declared types. False if it did not."""
    try:
        import _ctypes

        program = _ctypes.dlopen(None, _ctypes.RTLD_LOCAL)  # type: ignore[arg-type] # dlopen(NULL)
        prctl = _ctypes.dlsym(program, "prctl")
        return bool(_ctypes.call_function(prctl, (PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0)
    except (ImportError, OSError, AttributeError, TypeError, ValueError):
        return False


def _set_not_dumpable() -> None:
    import ctypes

    try:  # the interpreter's own symbols include libc's (find_library costs ~100 ms)
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the rlimit above is what there is
        return
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
