"""Slow work off the rig thread and off the web's workers: one runner for every job.

    >>> jobs = Jobs(rig.post)
    >>> settled = jobs.submit("recording.stop", recorder.stop, reason="crew")
    >>> settled.result(60)        # (a web worker may wait; the rig thread never does)
    >>> jobs.start("import", importer.run, "/media/usb0")    # one import at a time
    >>> jobs.running()            # ["import"]

Cutting and finalizing a recording, the power-off, an import, an export,
cutting an extract, pruning: each is a job on a small pool of workers. When
one ends, the rig gets ``Msg("job.done", data={"name", "future"})`` and
decides what follows (the recording is off, the shutdown may go on).
``settled`` resolves only after the rig has handled that message, so a
caller that waits on it then reads a snapshot that already says so.
Without a rig (``post=None``: a tool, a test) it resolves when the job ends.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from .effects import Msg
from .refusal import Refused

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, post=None, workers: int = 3):
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    def submit(self, name: str, fn, *args, **kwargs) -> Future:
        settled: Future = Future()
        with self._lock:
            self._running[name] = self._running.get(name, 0) + 1

        def done(future: Future) -> None:
            with self._lock:
                self._running[name] -= 1
                if not self._running[name]:
                    del self._running[name]
            if self._post is not None:
                self._post(Msg("job.done", "jobs", {"name": name, "future": future, "settled": settled}))
            elif future.exception() is not None:
                settled.set_exception(future.exception())
            else:
                settled.set_result(future.result())

        self._pool.submit(fn, *args, **kwargs).add_done_callback(done)
        return settled

    def start(self, name: str, fn, *args, busy: Refused | None = None, **kwargs) -> Future:
        """Like :meth:`submit`, but one job of that name at a time: ``busy`` (or
        ``Refused("<name>_running")``) while one runs."""
        with self._lock:
            if name in self._running:
                raise busy or Refused(f"{name}_running")
            self._running[name] = 0           # taken; submit counts it
        return self.submit(name, fn, *args, **kwargs)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
