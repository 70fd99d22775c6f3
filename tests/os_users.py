"""Real OS users and a group for tests where identity matters (team mode, spoofing).

Created once per session when the tests run as root (CI does), with unique names,
and removed at the end; without root the tests that need them are skipped with the
reason. Each user gets a home folder under a private /tmp folder (pytest's tmp_path
is 0700 root's and unreachable for them), and runs the real CLI through a Python
interpreter they can reach.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli_runner import REPO

# alias -> (in the team's group?)
PEOPLE = {
    "alice": True,  # runs init: Organization Administrator
    "bob": True,  # Email Manager
    "carol": True,  # App Developer
    "dave": True,  # Viewer
    "mallory": True,  # in the group, not a member of the organization
    "eve": False,  # outside the group
}

# Run with -S: the interpreter's own site-packages (a system Python's dist-packages) must
# not shadow the venv's, which are added here in their place.
BOOT = (
    "import site, sys; [site.addsitedir(p) for p in sys.argv[1].split(':') if p]; "
    "from mailstage.cli.main import main; sys.exit(main(sys.argv[2:]))"
)


@dataclass
class OsUser:
    alias: str
    name: str
    uid: int
    gid: int
    home: Path

    def groups(self) -> list[int]:
        return os.getgrouplist(self.name, self.gid)


@dataclass
class Team:
    group: str
    gid: int
    root: Path
    python: str
    site_dirs: str
    users: dict[str, OsUser] = field(default_factory=dict)

    def __getitem__(self, alias: str) -> OsUser:
        return self.users[alias]

    def folder_for(self, alias: str) -> Path:
        """A fresh folder owned by ``alias`` where they may create the team's store folder."""
        folder = self.root / f"t{secrets.token_hex(4)}"
        folder.mkdir(mode=0o755)
        user = self.users[alias]
        os.chown(folder, user.uid, user.gid)
        return folder

    def env(self, alias: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        user = self.users[alias]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(user.home),
            "USER": user.name,
            "LOGNAME": user.name,
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
        }
        env.update(extra or {})
        return env

    def run(
        self,
        alias: str,
        *args: str,
        env: dict[str, str] | None = None,
        input: str = "",
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """The real `mailstage` CLI as the OS user ``alias``."""
        user = self.users[alias]
        return subprocess.run(
            [self.python, "-S", "-c", BOOT, self.site_dirs, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(alias, env),
            timeout=timeout,
            cwd="/",
            user=user.uid,
            group=user.gid,
            extra_groups=user.groups(),
        )


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def _reachable(python: str, site_dirs: str, uid: int, gid: int) -> bool:
    try:
        done = subprocess.run(
            [python, "-S", "-c", BOOT.replace("main(sys.argv[2:])", "0"), site_dirs],
            capture_output=True,
            timeout=60,
            user=uid,
            group=gid,
            extra_groups=[],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
        )
    except OSError:
        return False
    return done.returncode == 0


def _interpreter(uid: int, gid: int) -> tuple[str, str] | None:
    """sys.executable if other users can run it; else the system's python3 of the same
    version given the venv's site-packages (a pyenv build under /root is unreachable)."""
    purelib = sysconfig.get_paths()["purelib"]
    platlib = sysconfig.get_paths()["platlib"]
    site_dirs = ":".join(dict.fromkeys([purelib, platlib, str(REPO)]))
    candidates = [sys.executable]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name in (version, "python3"):
        found = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
        if found:
            candidates.append(found)
    for python in candidates:
        if _reachable(python, site_dirs, uid, gid):
            return python, site_dirs
    return None


@pytest.fixture(scope="session")
def os_team() -> Iterator[Team]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create OS users and a group (CI runs as root)")
    if not shutil.which("useradd") or not shutil.which("groupadd"):
        pytest.skip("needs useradd and groupadd to create OS users and a group")
    tag = secrets.token_hex(3)
    group = f"mst{tag}"
    root = Path(f"/tmp/mailstage-team-{tag}")
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    created: list[str] = []
    try:
        _run("groupadd", group)
        gid = grp.getgrnam(group).gr_gid
        users: dict[str, OsUser] = {}
        for alias, in_group in PEOPLE.items():
            name = f"{alias[:4]}{tag}"
            argv = ["useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh"]
            if in_group:
                argv += ["--groups", group]
            _run(*argv, name)
            created.append(name)
            entry = pwd.getpwnam(name)
            home = root / f"home-{name}"
            home.mkdir(mode=0o700)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            users[alias] = OsUser(alias, name, entry.pw_uid, entry.pw_gid, home)
        found = _interpreter(users["eve"].uid, users["eve"].gid)
        if found is None:
            pytest.skip(
                "no Python interpreter with this venv's packages is reachable by other users"
            )
        yield Team(group, gid, root, found[0], found[1], users)
    finally:
        for name in created:
            # a process a failed test left running as the user (a TUI in tmux) would make
            # userdel refuse, leaving the user and the process behind
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, timeout=60)
            subprocess.run(["userdel", name], capture_output=True, timeout=60)
        subprocess.run(["groupdel", group], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
