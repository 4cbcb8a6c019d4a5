"""Slow work off the rig thread and off the web's workers: one runner, two lanes.

    >>> jobs = Jobs(rig.post)
    >>> settled = jobs.submit("recording.stop", recorder.stop, reason="crew")
    >>> settled.result(60)        # (a web worker may wait; the rig thread never does)
    >>> jobs.start("import", importer.run, "/media/usb0", lane="work")   # one import at a time
    >>> jobs.running()            # ["import"]

The ``rig`` lane (one worker, in order) carries what the evening depends on:
starting, cutting, resuming and finalizing a recording, the microphone, the
power-off. The ``work`` lane carries the crew's errands: imports, exports,
extracts, pruning. A long export can never hold up the recording's cut when
the generator stops, nor the power-off.

When a job ends, the rig gets ``Msg("job.done", data={"name", "future"})``
and decides what follows. ``settled`` resolves only after the rig has
handled that message, so a caller that waits on it then reads a snapshot
that already says so. Without a rig (``post=None``: a tool, a test) it
resolves when the job ends. Workers are daemon threads: a daemon asked to
stop does not wait for an export to finish.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from .effects import Msg
from .refusal import Refused

log = logging.getLogger(__name__)

LANES = {"rig": 1, "work": 2}


class Jobs:
    def __init__(self, post=None, lanes: dict[str, int] | None = None):
        self._post = post
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._queues: dict[str, queue.Queue] = {}
        for lane, workers in (lanes or LANES).items():
            q: queue.Queue = queue.Queue()
            self._queues[lane] = q
            for n in range(workers):
                threading.Thread(target=self._work, args=(q,), name=f"job-{lane}-{n}",
                                 daemon=True).start()

    def submit(self, name: str, fn, *args, lane: str = "rig", **kwargs) -> Future:
        settled: Future = Future()
        with self._lock:
            self._running[name] = self._running.get(name, 0) + 1
        self._queues[lane].put((name, fn, args, kwargs, settled))
        return settled

    def start(self, name: str, fn, *args, busy: Refused | None = None, lane: str = "work",
              **kwargs) -> Future:
        """Like :meth:`submit`, but one job of that name at a time: ``busy`` (or
        ``Refused("<name>_running")``) while one runs."""
        with self._lock:
            if name in self._running:
                raise busy or Refused(f"{name}_running")
            self._running[name] = 0           # taken; submit counts it
        return self.submit(name, fn, *args, lane=lane, **kwargs)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def _work(self, q: queue.Queue) -> None:
        while True:
            name, fn, args, kwargs, settled = q.get()
            future: Future = Future()
            future.set_running_or_notify_cancel()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:       # reported to the rig, never lost
                future.set_exception(exc)
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
