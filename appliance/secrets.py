"""Key files the rig makes for itself (the session key, later others): private from birth.

    >>> create_private(data_dir / "web.secret", secrets.token_bytes(32))

A file written and then ``chmod``-ed is readable by every account between
the two; one created with mode 0600 in the same call never is. O_EXCL
refuses a file (or a link planted in its place) that is already there:
the caller reads an existing key instead, or removes a bad one first.
"""

from __future__ import annotations

import os

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
