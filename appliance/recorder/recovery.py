"""After a crash or a power cut: the recordings left unfinished, finalized or taken up again.

A mixin of :class:`appliance.recorder.recorder.Recorder`: it reads the recorder's root,
clock, events and open session.
"""

from __future__ import annotations

from pathlib import Path

from ..finalizing import finalize
from ..recording import RecordingError, Session, sessions
from ..refusal import Refused
from .output import _end_orphan


class RecoveryMixin:
    def unfinished(self) -> list[Path]:
        """Sessions a crash or power cut left unfinished (rebuilt ones too); their
        capture processes ended. The session open here is not one of them."""
        current = self.session.path if self.session is not None else None
        left = [s.path for s in sessions(self.root) if not s.data.get("final") and s.path != current]
        for path in left:
            _end_orphan(path)
        return left

    def recover(self, paths: list[Path] | None = None) -> list[Session]:
        """Finalize the sessions in ``paths`` (default: every unfinished one). Slow."""
        recovered = []
        for path in (self.unfinished() if paths is None else paths):
            if self.session is not None and Path(path) == self.session.path:
                continue           # resumed: it goes on
            try:
                session = Session.load(path)
                if session.data.get("final"):
                    continue
                final = finalize(session.path, self.clock.time(), recovered=True)
            except RecordingError as exc:
                self.events.emit("recording.recover_failed", "alarm", "recorder",
                                 session=Path(path).name, detail=str(exc))
                continue
            self.events.emit("recording.recovered", "warning", "recorder", session=final.id,
                             duration_s=round(final.data["duration_s"] or 0, 1))
            recovered.append(final)
        return recovered

    def _unfinished_session(self, session_id: str) -> Session:
        if not isinstance(session_id, str) or not session_id or "/" in session_id \
                or session_id.startswith("."):
            raise Refused("no_such_session", session=session_id)
        path = self.root / session_id
        if not path.is_dir():
            raise Refused("no_such_session", session=session_id)
        _end_orphan(path)
        try:
            session = Session.load(path)
        except RecordingError:
            raise Refused("no_such_session", session=session_id) from None
        if session.data.get("final") or session.data.get("stop_reason"):
            # Finished, or stopped and being finalized when the daemon died: not to go on.
            raise Refused("no_such_session", session=session_id)
        return session
