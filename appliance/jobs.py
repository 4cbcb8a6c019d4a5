"""Slow work off the rig thread: each job runs on a worker and reports back.

    >>> jobs = Jobs(rig.post)
    >>> settled = jobs.submit("recording.stop", recorder.stop, reason="crew")
    >>> settled.result(60)        # (a web worker may wait; the rig thread never does)

When a job ends, the rig gets ``Msg("job.done", data={"name", "future"})``
and decides what follows (the recording is off, the shutdown may go on).
``settled`` resolves only after the rig has handled that message, so a
caller that waits on it then reads a snapshot that already says so.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from .effects import Msg

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, post, workers: int = 2):
        self._post = post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")

    def submit(self, name: str, fn, *args, **kwargs) -> Future:
        settled: Future = Future()

        def done(future: Future) -> None:
            self._post(Msg("job.done", "jobs", {"name": name, "future": future, "settled": settled}))

        self._pool.submit(fn, *args, **kwargs).add_done_callback(done)
        return settled

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
