"""A jail for a stranger's file: the command it runs may read that file and the system's programs, nothing else.

    $ python3 -I -S appliance/sandbox.py FILM.mkv -- ffprobe -show_format FILM.mkv

Films come from USB sticks handed over in villages. ffprobe follows what a
file tells it (a concat list naming the film next to it, a playlist naming
a path), so a crafted "film" could make it read the rig's session key, or a
serial device and so steal the meter's replies. In the jail (Linux
Landlock, no privilege needed) the command can read only:

- the one file named first, and
- the programs and libraries under /usr (and the loader's few files in /etc);

it can write, create or delete nothing, open no device, connect and listen
to no TCP port, and signal nothing outside it. Its CPU time, memory and
open files are bounded too, and it starts with an empty environment.

This file is run as a script by a fresh interpreter (``-I -S``: nothing
from the daemon's environment or packages), so it imports the standard
library only. A kernel without Landlock (``landlock_abi() == 0``) still
gets the bounds; ``rigctl doctor`` says when it is so.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

CPU_S = 60
MEMORY = 1 << 30
OPEN_FILES = 64

# <linux/landlock.h>
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
                     5: (1 << 16) - 1}
_NET_TCP = (1 << 0) | (1 << 1)                   # bind, connect (ABI 4)
_SCOPES = (1 << 0) | (1 << 1)                    # abstract unix sockets, signals (ABI 6)
_PR_SET_NO_NEW_PRIVS = 38
# Syscalls numbered since Linux 5.x are the same on every architecture the Pi runs.
_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446

SYSTEM_TREES = ("/usr", "/lib", "/lib64", "/bin", "/sbin")
LOADER_FILES = ("/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock version, 0 if it has none (or a seccomp filter hides it)."""
    abi = _libc().syscall(_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(abi, 0)


def _fail(what: str) -> None:
    raise OSError(ctypes.get_errno(), f"landlock: {what}: {os.strerror(ctypes.get_errno())}")


def confine(path: str) -> int:
    """Confine this process (and what it executes) to reading ``path`` and the system's programs.

    Returns the Landlock version used, 0 when the kernel has none (bounds only).
    """
    for limit, value in ((resource.RLIMIT_CPU, CPU_S), (resource.RLIMIT_AS, MEMORY),
                         (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NOFILE, OPEN_FILES),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    abi = landlock_abi()
    if abi == 0:
        return 0
    libc = _libc()
    fs_rights = _FS_RIGHTS_BY_ABI.get(abi, _FS_RIGHTS_BY_ABI[5])
    attr = _RulesetAttr(fs_rights, _NET_TCP if abi >= 4 else 0, _SCOPES if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        _fail("create a ruleset")
    try:
        rules = [(tree, _EXECUTE | _READ_FILE | _READ_DIR) for tree in SYSTEM_TREES]
        rules += [(name, _READ_FILE) for name in LOADER_FILES]
        rules.append((path, _READ_FILE))
        for name, access in rules:
            try:
                fd = os.open(name, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                if name == path:
                    raise
                continue
            try:
                rule = _PathBeneath(access, fd)
                if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                                ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    _fail(f"allow {name}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            _fail("set no_new_privs")
        if libc.syscall(_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            _fail("restrict this process")
    finally:
        os.close(ruleset)
    return abi


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: sandbox.py FILE -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    path, command = argv[0], argv[2:]
    env = {"PATH": "/usr/bin:/bin"}
    program = next((os.path.join(d, command[0]) for d in env["PATH"].split(":")
                    if os.access(os.path.join(d, command[0]), os.X_OK)), command[0])
    try:
        confine(path)
    except OSError as exc:
        print(f"sandbox: cannot confine the probe: {exc}", file=sys.stderr)
        return 125
    os.chdir("/")
    try:
        os.execve(program, command, env)     # found before: looking it up imports modules
    except OSError as exc:
        print(f"sandbox: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
