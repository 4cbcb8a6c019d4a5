"""The rig's eye on the Pi itself: its supply and temperature, judged on the rig thread.

A mixin of :class:`appliance.rig.Rig`. The daemon's housekeeping loop reads
the Pi (``devices.host``) and posts the reading; here :class:`SupplyWatch`
turns it into alerts and events, and the screening under way gets a
``supply`` note when the Pi browned out, was slowed or got hot that evening.
"""

from __future__ import annotations

from .effects import Msg
from .supply import worth_writing


class SupplyMixin:
    def _on_host(self, msg: Msg) -> None:
        """A reading every few seconds: its judgement is published at once, its figures
        (temperature, clock, memory) with the next snapshot, which the meter's next poll makes
        within a second (or the clock's tick, within five), not with one of their own."""
        self.host = msg.data["host"]
        judged = self.supply.judgement()
        effects = self.supply.update(self.host, self.clock.monotonic())
        self._apply(effects)
        self._note_supply()
        self.news_can_wait = not effects and self.supply.judgement() == judged

    def _note_supply(self, final: bool = False) -> None:
        """The evening's ``supply`` note, written when it has news (``final``: any news)."""
        sid = self.screening_id
        if sid is None or self.screenings is None or not self.host:
            return
        if self.supply_note_for != sid:
            # A new evening, or one carried on after a restart: start from its record.
            written = (self.screenings.get(sid) or {}).get("supply")
            self.supply_note_for, self.supply_note, self.supply_written = sid, written, written
        note = self.supply.fold(self.supply_note, self.host) if not final else self.supply_note
        self.supply_note = note
        if note is None:
            return
        if final:       # the evening ends: its hottest moment exactly, if it had a note
            news = self.supply_written is not None and note != self.supply_written
        else:
            news = worth_writing(self.supply_written, note)
        if news:
            self.screenings.set_fields(sid, supply=note)
            self.supply_written = note
