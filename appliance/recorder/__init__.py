"""Recording the debate: camera and microphone into segments that survive a power cut.

    >>> recorder = Recorder(config, data_dir / "recordings", camera, microphone, events, clock,
    ...                     on_fault=lambda code, session_id, **data: ...)
    >>> recorder.start(place={"village": "Didiéni"})     # quick: ffmpeg spawned
    >>> recorder.mark("a woman asks about the checkpoint")
    >>> recorder.status()               # never waits, whatever else runs
    >>> recorder.cut()                  # power going: the part ends, the session stays open
    >>> recorder.stop()                 # joined, verified, final (slow: in a job)
    >>> recorder.unfinished()           # at start-up: what a crash left, its captures ended
    >>> recorder.resume(session_id)     # ...and go on with one: a new part in it
    >>> recorder.recover(others)        # ...or finalize them

Three parts, as picamera2 splits encoders and outputs:

- the sources (:mod:`appliance.devices.camera`, :mod:`appliance.devices.microphone`)
  know nothing of files;
- a :class:`SegmentOutput` (:mod:`.output`) is one ffmpeg process writing one
  part of a session as ``[recording] segment_s`` MPEG-TS segments, each
  flushed as it is written; it owns the pipes and the pid file;
- a :class:`~appliance.recording.SessionFile` is the only writer of session.json.

:class:`Recorder` (:mod:`.recorder`) keeps the session's life cycle: its
watcher fsyncs each segment as ffmpeg closes it and lists it in
session.json, and reports a filling disk or a dead capture (``on_fault``).

If rigd dies, the sound pipe closes and ffmpeg (run with ``-shortest``)
ends by itself; a capture left running anyway is found by its pid file at
the next start and ended.
"""

from ..refusal import Refused
from .output import PIDFILE, SegmentOutput, _end_orphan
from .recorder import WARN_MINUTES, Recorder, View

#: the old name of :class:`~appliance.refusal.Refused`, while rig.py still imports it
RecorderRefused = Refused

__all__ = ["PIDFILE", "WARN_MINUTES", "Recorder", "RecorderRefused", "Refused", "SegmentOutput",
           "View", "_end_orphan"]
