"""The evening's programme and the runner that plays it, item after item.

    >>> items = check_items([{"path": "films/dialogue.mkv", "audio": "bam", "sub": "fra"},
    ...                      {"kind": "card", "text": "Débat de Ségou", "seconds": 5},
    ...                      {"path": "extracts/segou-1.mkv"}], library)
    >>> runner = ProgrammeRunner(player, store, events, clock, player_cfg, on_finished=...)
    >>> runner.play(items)

An item is a film or extract (``path`` in the library, with the audience's
audio and subtitle language) or a title card (``text`` for ``seconds``).
While an item plays its position is written down at least every 2 s, so a
restarted daemon can take it up where it was, in the same languages.
"""

from __future__ import annotations

import logging
import threading

from .languages import normalise
from .refusal import Refused

log = logging.getLogger(__name__)

KEY_PROGRAMME = "programme"
KEY_RESUME = "player.resume"
SAVE_EVERY_S = 1.0


class ProgrammeError(ValueError):
    pass


def check_items(items, library) -> list[dict]:
    """Validate and normalise a programme; ProgrammeError names the item and the problem."""
    if not isinstance(items, list):
        raise ProgrammeError("a programme is a list of items")
    if len(items) > 100:
        raise ProgrammeError("a programme has at most 100 items")
    out = []
    media = library.scan()                   # once, however many items
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, dict):
            raise ProgrammeError(f"{where}: expected an object")
        kind = item.get("kind", "card" if "text" in item else "media")
        if kind == "card":
            text = item.get("text")
            seconds = item.get("seconds", 5)
            if not isinstance(text, str) or not text.strip() or len(text) > 200:
                raise ProgrammeError(f"{where}: a title card needs a text of 1 to 200 characters")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 1 <= seconds <= 600:
                raise ProgrammeError(f"{where}: seconds must be a number from 1 to 600")
            out.append({"kind": "card", "text": text.strip(), "seconds": float(seconds)})
            continue
        if kind != "media":
            raise ProgrammeError(f"{where}: kind must be media or card, not {kind!r}")
        path = item.get("path")
        if not isinstance(path, str):
            raise ProgrammeError(f"{where}: path of a film or extract is missing")
        if "/" in path:
            try:
                library.resolve(path)
            except ValueError as exc:
                raise ProgrammeError(f"{where}: {exc}") from None
        found = library.find(path, media)
        if found is None:
            raise ProgrammeError(f"{where}: {path} is not in the library")
        path = found["path"]
        if not found["ok"]:
            raise ProgrammeError(f"{where}: {path} cannot be played: {found['error']}")
        withheld = found.get("withheld")
        if withheld:
            # a filmed person withdrew: never programmed, whoever asks (appliance.consent)
            raise Refused("extract_withheld", path=path, by=withheld.get("by") or "—",
                          rig=withheld.get("rig") or "?", reason=withheld.get("reason") or "—")
        langs = {}
        for key in ("audio", "sub"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                raise ProgrammeError(f"{where}: {key} is a language code such as \"bam\"")
            langs[key] = "none" if value == "none" else normalise(value)
        entry = {"kind": "media", "path": path, "title": found["title"],
                 "audio": langs["audio"], "sub": langs["sub"]}
        if found["kind"] == "extract" and found.get("id"):
            # whose voices these are: the screening writes them down when they play
            entry["extract"] = {"id": found["id"], "origin": found.get("origin")}
        out.append(entry)
    return out


def _prefer(first: str | None, fallback: list[str]) -> list[str]:
    order = ([first] if first else []) + [normalise(l) or l for l in fallback]
    return list(dict.fromkeys(order))


class ProgrammeRunner:
    """Plays a list of items on the player; tells when the programme is over."""

    def __init__(self, player, library, store, events, clock, cfg, *,
                 on_started=None, on_finished=None, on_file_end=None, on_playing=None,
                 on_item=None):
        self.player = player
        self.library = library
        self.store = store
        self.events = events
        self.clock = clock
        self.cfg = cfg
        self.on_started = on_started
        self.on_finished = on_finished
        #: on_file_end(reason, path, error), from mpv's thread; the receiver calls file_ended
        self.on_file_end = on_file_end
        #: on_playing({"index", "path", "title", "audio", "asked", "sub"}): a film is loaded, or
        #: its dubbing changed; "audio" is the track the player chose ("asked" may be None)
        self.on_playing = on_playing
        self._told: tuple | None = None
        #: on_item(item), after each film or extract starts: the screening writes it down
        self.on_item = on_item
        self.items: list[dict] = []
        self.index: int | None = None
        self._lock = threading.RLock()
        self._last_save = 0.0
        self._started_with: tuple = (0.0, None, None)
        # Callbacks into the rig run after this runner's lock is released, so
        # the rig and the runner never wait on each other's locks.
        self._callbacks: list = []
        player.on_end = self._ended

    def _flush(self) -> None:
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("programme callback failed")

    # --- commands ---------------------------------------------------------------

    def play(self, items: list[dict], index: int = 0, position: float = 0.0,
             audio: str | None = None, sub: str | None = None) -> None:
        with self._lock:
            if not items:
                raise ProgrammeError("the programme is empty: add a film first")
            if not 0 <= index < len(items):
                raise ProgrammeError(f"there is no item {index + 1} in a programme of {len(items)}")
            self.items = list(items)
            self._start(index, position, audio, sub)
        self._flush()

    def _start(self, index: int, position: float = 0.0, audio: str | None = None,
               sub: str | None = None) -> None:
        self.index = index
        self._told = None               # its language is told anew once it is loaded
        item = self.items[index]
        self._started_with = (position, audio or item.get("audio"), sub or item.get("sub"))
        if item["kind"] == "card":
            self.player.card(item["text"], item["seconds"])
        else:
            path = str(self.library.resolve(item["path"]))
            subs = [] if (sub or item.get("sub")) == "none" else \
                _prefer(sub or item.get("sub"), self.cfg.subtitle_languages)
            self.player.play(path, audio=_prefer(audio or item.get("audio"), self.cfg.audio_languages),
                             sub=subs, start=position, title=item.get("title"))
        self.events.emit("programme.item", "info", "player", index=index + 1, of=len(self.items),
                         title=item.get("title") or item.get("text"), path=item.get("path"),
                         audio=audio or item.get("audio"), sub=sub or item.get("sub"),
                         **({"extract": item["extract"]} if item.get("extract") else {}))
        self._save(force=True)
        if self.on_item and item["kind"] == "media":
            self._callbacks.append(lambda: self.on_item(dict(item, audio=audio or item.get("audio"))))
        if self.on_started:
            self._callbacks.append(self.on_started)

    def next(self) -> None:
        with self._lock:
            if self.index is None:
                raise ProgrammeError("nothing is playing")
            following = self._playable_after(self.index)
            if following is None:
                self._finish()
            else:
                self._start(following)
        self._flush()

    def stop(self) -> None:
        with self._lock:
            self.index = None
            self.player.stop()
            self.store.put(KEY_RESUME, None, self.clock.time())

    def suspend(self) -> None:
        """Power is going: write down where the film is and hold it there."""
        with self._lock:
            if self.index is None:
                return
            self._save(force=True)
            self.player.pause()

    def resumable(self) -> bool:
        saved = self.store.get(KEY_RESUME)
        return bool(saved and saved.get("items"))

    def carry_on(self) -> None:
        """Resume: unpause what is loaded, or take up what was saved."""
        with self._lock:
            if self.index is not None:
                self.player.resume()
                return
        if not self.resume_saved(max_age_s=7 * 86400):
            raise ProgrammeError("nothing to resume")

    def resume_saved(self, max_age_s: float) -> bool:
        """Take up what was playing before the daemon died, if it is recent."""
        saved = self.store.get(KEY_RESUME)
        if not saved or not saved.get("items"):
            return False
        age = self.clock.time() - saved.get("at", 0)
        if not 0 <= age <= max_age_s:
            return False
        index, position = saved["index"], saved.get("position_s") or 0.0
        audio, sub = saved.get("audio_lang"), saved.get("sub_lang") or "none"
        # A withdrawal made since (or while the daemon was down) holds here too: the saved
        # item is passed over, and the next that may be shown starts from its beginning, in
        # its own languages.
        playable = self._playable_after(index - 1, saved["items"])
        if playable is None:
            self.store.put(KEY_RESUME, None, self.clock.time())
            return False
        if playable != index:
            index, position, audio, sub = playable, 0.0, None, None
        try:
            self.play(saved["items"], index, position, audio=audio, sub=sub)
        except Exception as exc:       # a film gone from the library, say
            log.warning("could not resume playback: %s", exc)
            return False
        self.events.emit("programme.resumed", "warning", "player", index=index + 1,
                         position_s=round(position, 1), audio=audio)
        return True

    # --- the player tells ---------------------------------------------------------

    def _ended(self, reason: str, path: str | None, error: str | None) -> None:
        # Called on mpv's event thread: the news goes to whoever decides (the rig).
        if self.on_file_end is not None:
            self.on_file_end(reason, path, error)
        else:
            threading.Thread(target=self.file_ended, args=(reason, path, error),
                             name="programme", daemon=True).start()

    def file_ended(self, reason, path, error) -> None:
        """A file ended: the next item, or the programme's end."""
        self._handle_end(reason, path, error)
        self._flush()

    def _handle_end(self, reason, path, error) -> None:
        with self._lock:
            if self.index is None:
                return
            item = self.items[self.index]
            if reason == "error":
                self.index = None
                self._save(force=True)
                self.events.emit("player.error", "alarm", "player",
                                 title=item.get("title") or path, detail=error or "")
                return
            if reason != "eof":
                return
            following = self._playable_after(self.index)
            if following is None:
                self._finish()
            else:
                self._start(following)

    def _playable_after(self, index: int, items: list[dict] | None = None) -> int | None:
        """The next item, passing over an extract whose consent was withdrawn during the
        evening (appliance.consent): it is never shown, even from a programme already running."""
        items = self.items if items is None else items
        consent = getattr(self.library, "consent", None)
        table = consent.table() if consent is not None else {}
        for n in range(index + 1, len(items)):
            item = items[n]
            record = consent.withheld(consent.meta_of(item.get("path")), table) \
                if consent is not None and item["kind"] == "media" else None
            if record is None:
                return n
            self.events.emit("programme.withheld_skipped", "warning", "player", path=item.get("path"),
                             by=record.get("by") or "—")
        return None

    def _finish(self) -> None:
        self.index = None
        self.player.stop()
        self.store.put(KEY_RESUME, None, self.clock.time())
        self.events.emit("programme.ended", "info", "player", items=len(self.items))
        if self.on_finished:
            self._callbacks.append(self.on_finished)

    # --- bookkeeping ---------------------------------------------------------------

    def tick(self) -> None:
        self._save()
        self._flush()

    def _save(self, force: bool = False) -> None:
        now = self.clock.monotonic()
        if not force and (self.index is None or now - self._last_save < SAVE_EVERY_S):
            return
        self._last_save = now
        try:
            snap = self.player.snapshot()
            record = None
            if self.index is not None:
                # Until the file is loaded, what was asked is what is playing.
                position, audio, sub = self._started_with
                loaded = snap["position_s"] is not None
                record = {"items": self.items, "index": self.index,
                          "position_s": snap["position_s"] if loaded else position,
                          "audio_lang": snap["audio_lang"] if loaded else audio,
                          "sub_lang": snap["sub_lang"] if loaded else sub,
                          "at": self.clock.time()}
            # The periodic save needs no fsync: a cut loses a second of the film's place.
            self.store.put(KEY_RESUME, record, self.clock.time(), durable=force)
            if record is not None and loaded:
                self._tell_playing(snap)
        except Exception:
            log.exception("could not save the playing position")

    def _tell_playing(self, snap: dict) -> None:
        """Once the film is loaded, and again when its dubbing changes: what is heard."""
        item = self.items[self.index]
        told = (self.index, snap["audio_lang"])
        if item["kind"] != "media" or told == self._told or self.on_playing is None:
            return
        self._told = told
        info = {"index": self.index + 1, "path": item["path"], "title": item.get("title"),
                "audio": snap["audio_lang"], "asked": self._started_with[1], "sub": snap["sub_lang"]}
        self._callbacks.append(lambda: self.on_playing(info))

    def snapshot(self) -> dict:
        snap = self.player.snapshot()
        with self._lock:
            snap["programme_index"] = self.index
            snap["programme_length"] = len(self.items) if self.index is not None else 0
            if self.index is not None:
                item = self.items[self.index]
                snap["item_kind"] = item["kind"]
                if item["kind"] == "media":
                    snap["file"] = item["path"]
        return snap
