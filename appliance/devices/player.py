"""The projector's player: one long-lived libmpv instance (python-mpv).

    >>> player = Player(PlayerConfig(vo="null", ao="null"), on_end=print)
    >>> player.play("/media/films/dialogue.mkv", audio=["fra", "bam"], sub=["fra"], start=12.0)
    >>> player.select_audio(["bam"])          # switch language while it plays
    >>> player.pause(); player.seek(30); player.resume()
    >>> player.snapshot()["position_s"]

It knows files and tracks, not programmes or shows. ``on_end(reason, path,
error)`` is called (on mpv's thread) when a file ends: reason is ``eof``,
``error`` or ``stopped``. If the mpv core dies, the next call makes a new one.

libmpv (and the GPU drivers it opens) is loaded at the first command or
:meth:`wake` (the show starts: the projector shows black): an idle rig that
has shown nothing yet does not carry it. It is kept after: a core made and
ended every evening grew the daemon by megabytes each time (a soak of
evenings showed it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading

from ..languages import normalise

log = logging.getLogger(__name__)

_END_REASONS = {0: "eof", 2: "stopped", 3: "stopped", 4: "error", 1: "restarted", 5: "redirect"}


class PlayerError(RuntimeError):
    pass


class Player:
    def __init__(self, cfg, *, on_end=None, speed: float = 1.0):
        self.cfg = cfg
        self.on_end = on_end
        self.speed = speed
        self.path: str | None = None
        self.title: str | None = None
        self.last_error: str | None = None
        self._volume = min(cfg.volume, cfg.volume_max)
        self._lock = threading.RLock()
        self._mpv = None
        self._errors: list[str] = []

    def wake(self) -> None:
        """Load the player now (a black picture on the projector); PlayerError says why not.

        The core is made without holding the player's lock: loading libmpv and the GPU
        drivers takes seconds on a Pi, and the rig reads the player's state meanwhile.
        """
        if self._mpv is not None:
            return
        core = self._new_core()
        with self._lock:
            if self._mpv is None:
                self._mpv = core
                return
        core.terminate()                    # a command made one meanwhile

    # --- the mpv core ---------------------------------------------------------

    def _start(self) -> None:
        self._mpv = self._new_core()

    def _new_core(self):
        try:
            import mpv
        except (ImportError, OSError) as exc:
            raise PlayerError(f"the video player cannot start (libmpv: {exc})") from None
        c = self.cfg
        options = dict(
            vo=c.vo, ao=c.ao, idle=True, ytdl=False, osc=False,
            input_default_bindings=False, input_vo_keyboard=False, input_terminal=False,
            terminal=False, hwdec=c.hwdec, volume=self._volume, volume_max=max(100, c.volume_max),
            keep_open=False, background="#000000", cursor_autohide="always",
            sub_auto="fuzzy", audio_display=False,
            # mpv's built-in Lua scripts (the stats overlay, the console, the profiles' watch)
            # each run a thread and a Lua heap that grows with every file played: with no
            # keyboard on the projector they can never be used.
            load_scripts=False, load_stats_overlay=False, load_osd_console=False,
            load_auto_profiles=False,
        )
        if c.audio_device != "auto":
            options["audio_device"] = c.audio_device
        if c.vo != "null":
            options["fullscreen"] = c.fullscreen
            if c.gpu_context != "auto":
                options["gpu_context"] = c.gpu_context
                options["drm_connector"] = c.drm_connector
            if c.idle_black:
                options["force_window"] = "immediate"     # black, not a desktop, when idle
        if c.vo != "null":
            failed = _picture_fails(options)
            if failed:
                raise PlayerError(_why_no_picture(c, failed))
        try:
            with _fd0_kept():
                player = mpv.MPV(log_handler=self._log, loglevel="warn", **options)
        except Exception as exc:          # mpv says only "Invalid value for mpv parameter"
            raise PlayerError(_why_no_picture(c, exc)) from None
        player.speed = self.speed

        @player.event_callback("end-file")
        def _ended(event):
            # Event data is only valid inside the callback.
            reason = _END_REASONS.get(getattr(event.data, "reason", None), "stopped")
            if reason in ("restarted", "redirect"):
                return
            error = "; ".join(self._errors[-3:]) if reason == "error" else None
            path = self.path
            if reason != "stopped":
                self.path = None
            if error:
                self.last_error = error
            if self.on_end:
                try:
                    self.on_end(reason, path, error)
                except Exception:
                    log.exception("end-of-file handler failed")

        return player

    def _log(self, level, component, message) -> None:
        text = f"{component}: {message.strip()}"
        if level in ("error", "fatal"):
            self._errors = (self._errors + [text])[-10:]
        log.debug("mpv %s %s", level, text)

    def _core(self):
        """The mpv core, made on first use, and anew if the old one has died."""
        if self._mpv is not None and self._mpv.core_shutdown:
            log.warning("the mpv core had stopped; starting a new one")
            self._mpv = None
        if self._mpv is None:
            self._start()
        return self._mpv

    def _call(self, fn):
        import mpv
        with self._lock:
            try:
                return fn(self._core())
            except mpv.ShutdownError:
                self._mpv = None
                return fn(self._core())

    # --- commands -------------------------------------------------------------

    def play(self, path: str, *, audio: list[str] | None = None, sub: list[str] | None = None,
             start: float = 0.0, title: str | None = None) -> None:
        """Load ``path`` and play it from ``start`` with the first available languages.

        ``sub=[]`` means no subtitles; ``None`` means the configured order.
        """
        audio = audio if audio is not None else self.cfg.audio_languages
        sub = sub if sub is not None else self.cfg.subtitle_languages
        self._errors = []
        self.last_error = None
        self.path, self.title = path, title

        def go(core):
            # Language lists go in the global options, which apply to the next
            # file: per-file options cannot carry a comma-separated list.
            core.alang = [normalise(l) or l for l in audio]
            core.slang = [normalise(l) or l for l in sub]
            core.aid = "auto"
            core.sid = "auto" if sub else "no"
            core.loadfile(path, "replace", start=f"{max(0.0, start):.3f}", pause="no")
        self._call(go)

    def card(self, text: str, seconds: float) -> None:
        """A title card: black picture with ``text`` for ``seconds``."""
        self.path, self.title = f"card:{text}", text
        source = f"av://lavfi:color=c=black:s=1280x720:r=25:d={seconds:.1f}"

        def go(core):
            core.loadfile(source, "replace", pause="no")
            core.show_text(text, int(seconds * 1000))
        self._call(go)

    def pause(self) -> None:
        self._call(lambda core: setattr(core, "pause", True))

    def resume(self) -> None:
        self._call(lambda core: setattr(core, "pause", False))

    def stop(self) -> None:
        self.path, self.title = None, None
        if self._mpv is not None:
            self._call(lambda core: core.command("stop"))

    def seek(self, seconds: float, relative: bool = False) -> None:
        reference = "relative" if relative else "absolute"
        self._call(lambda core: core.seek(seconds, reference=reference, precision="exact"))

    def set_volume(self, volume: int) -> int:
        volume = max(0, min(int(volume), self.cfg.volume_max))
        self._volume = volume
        self._call(lambda core: setattr(core, "volume", volume))
        return volume

    def select_audio(self, langs: list[str]) -> str | None:
        return self._select("audio", "aid", langs)

    def select_sub(self, langs: list[str]) -> str | None:
        if not langs:
            self._call(lambda core: setattr(core, "sid", "no"))
            return None
        return self._select("sub", "sid", langs)

    def _select(self, kind: str, prop: str, langs: list[str]) -> str | None:
        """Switch the playing file's track to the first of ``langs`` it has."""
        def go(core):
            tracks = [t for t in (core.track_list or []) if t.get("type") == kind]
            for lang in langs:
                for t in tracks:
                    if normalise(t.get("lang")) == normalise(lang):
                        setattr(core, prop, t["id"])
                        return normalise(t.get("lang"))
            raise PlayerError(f"no {kind} track in {', '.join(langs)}; "
                              f"this file has: {', '.join(normalise(t.get('lang')) or '?' for t in tracks) or 'none'}")
        return self._call(go)

    # --- what it is doing ----------------------------------------------------------

    def tracks(self) -> list[dict]:
        def go(core):
            return [{"id": t["id"], "type": t["type"], "lang": normalise(t.get("lang")),
                     "title": t.get("title"), "selected": t.get("selected", False)}
                    for t in (core.track_list or []) if t.get("type") in ("audio", "sub")]
        return self._call(go)

    def snapshot(self) -> dict:
        if self._mpv is None:         # never started: nothing has played
            return {"file": None, "title": None, "position_s": None, "duration_s": None,
                    "paused": False, "audio_lang": None, "sub_lang": None, "volume": self._volume}

        def go(core):
            playing = self.path is not None and core.idle_active is False
            # The position before the tracks: each is read on its own while mpv opens the file,
            # and a file with a position has its tracks chosen. Read the other way round, a
            # busy machine gave a position with the tracks of a file not open yet (no language).
            position = _round(core.time_pos) if playing else None
            audio = sub = None
            if playing:
                for t in core.track_list or []:
                    if t.get("selected") and t.get("type") == "audio":
                        audio = normalise(t.get("lang"))
                    if t.get("selected") and t.get("type") == "sub":
                        sub = normalise(t.get("lang"))
            return {
                "file": self.path if playing else None,
                "title": self.title if playing else None,
                "position_s": position,
                "duration_s": _round(core.duration) if playing else None,
                "paused": bool(core.pause) if playing else False,
                "audio_lang": audio,
                "sub_lang": sub,
                "volume": self._volume,
            }
        return self._call(go)

    def close(self) -> None:
        with self._lock:
            if self._mpv is not None:
                try:
                    self._mpv.terminate()
                except Exception:
                    pass
                self._mpv = None


# libmpv 0.35 (Debian 12, Raspberry Pi OS) closes fd 0 when a GPU context fails to open: an fd
# field it had not set yet is 0 (mpv#18232, fixed in later releases). In rigd, fd 0 is stdin
# (/dev/null) the first time and, once that is closed, whatever the daemon opened next: a web
# connection, a database, the meter's port. So the picture output is first tried in a child
# process, where that close does no harm; only an output that opens there is opened here.
_PROBE = "import json, sys, mpv\nmpv.MPV(**json.loads(sys.argv[1])).terminate()\n"


#: the option sets whose picture output has opened once: not tried again (a core made anew
#: after one died is made from a snapshot on the rig thread, which must not wait for a child)
_OPENED: set[str] = set()


def _picture_fails(options: dict) -> str | None:
    """None if the picture output opens (in a child process); else why not."""
    probe = json.dumps({**options, "force_window": "immediate"})   # open it now, not at a film
    if probe in _OPENED:
        return None
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, probe],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "the picture output did not open within 60 s"
    if done.returncode == 0:
        _OPENED.add(probe)
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"the picture output failed (exit {done.returncode})"


@contextlib.contextmanager
def _fd0_kept():
    """/dev/null on fd 0 around making a core, so that a close(0) in libmpv closes only that."""
    _null_on_fd0()
    try:
        yield
    finally:
        _null_on_fd0()


def _null_on_fd0() -> None:
    try:
        os.fstat(0)
        return
    except OSError:
        pass
    fd = os.open(os.devnull, os.O_RDWR)
    if fd != 0:                # another thread took fd 0 meanwhile: it is its file now
        os.close(fd)
    log.warning("fd 0 was closed (as libmpv does when a GPU context fails): %s",
                "/dev/null is on it again" if fd == 0 else "another file took it first")


def _why_no_picture(cfg, exc) -> str:
    """What to change, rather than libmpv's words, when the picture output cannot open."""
    if cfg.vo == "null":
        return f"the video player cannot start (libmpv: {exc})"
    desktop = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not desktop and cfg.gpu_context != "drm":
        return ('no display for the projector output: set [player] vo = "null" (no picture) '
                'or gpu_context = "drm" (the projector driven without a desktop)')
    return (f'the projector output cannot open ([player] vo = "{cfg.vo}", gpu_context = '
            f'"{cfg.gpu_context}"): {exc}; check the HDMI cable and [player] drm_connector')


def _round(value) -> float | None:
    return round(float(value), 2) if value is not None else None
