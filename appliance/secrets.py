"""Key files: those the rig makes for itself (the session key), private from birth, and
those it is given (the office's password), checked before they are trusted.

    >>> create_private(data_dir / "web.secret", secrets.token_bytes(32))
    >>> private_problem("/etc/mdu-rig/fleet.secret")     # None, or what is wrong and the fix
    >>> read_secret("/etc/mdu-rig/fleet.secret")         # its first line

A file written and then ``chmod``-ed is readable by every account between
the two; one created with mode 0600 in the same call never is. O_EXCL
refuses a file (or a link planted in its place) that is already there:
the caller reads an existing key instead, or removes a bad one first.
"""

from __future__ import annotations

import os
import stat

FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def create_private(path: str | os.PathLike, data: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``data``; FileExistsError if anything is there."""
    fd = os.open(path, FLAGS, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


def private_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot hold a password given to the rig, with the fix; None if it can.

    Readable by every account is refused (a copy of the office's password on
    every login of the Pi); readable by the daemon's group is the way
    (root:mdurig, mode 640), so root keeps it and the daemon reads it.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"{path}: not a file"
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o004:
        return (f"{path} is mode {mode:04o}: every account on the Pi can read it; "
                f"sudo chown root:mdurig {path} && sudo chmod 640 {path}")
    if not os.access(path, os.R_OK):
        return (f"{path}: this account cannot read it; sudo chown root:mdurig {path} "
                f"&& sudo chmod 640 {path}")
    return None


def read_secret(path: str | os.PathLike) -> str:
    """The first line of ``path`` (without its line end); OSError or ValueError if none."""
    with open(path, encoding="utf-8") as f:
        line = f.readline().rstrip("\r\n")
    if not line:
        raise ValueError(f"{path} is empty")
    return line
