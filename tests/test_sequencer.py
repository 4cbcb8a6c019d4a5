"""The show's policy on its own: pure steps, a fake world, random evenings (Hypothesis).

The sequencer touches no hardware and reads no clock, so any interleaving
of commands, generator losses, player news and time can be tried in
milliseconds, and the rules that protect the equipment checked after every
step.
"""

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from appliance.config import Config
from appliance.effects import Do, Emit, LoadView, Msg, Switch, World
from appliance.refusal import Refused
from appliance.show import Show, ShowSequencer


def config() -> Config:
    c = Config()
    c.show.switch_gap_s = 2.0
    c.show.inflate_s = 5.0
    c.relays["projector"].warmup_s = 10.0
    c.relays["projector"].cooldown_s = 30.0
    return c


class FakeRig:
    """Carries out the sequencer's effects on a model of the relays, player and recorder."""

    def __init__(self):
        self.config = config()
        self.seq = ShowSequencer(self.config)
        self.show = Show()
        self.now = 0.0
        self.loads = {n: LoadView(n, False, None, None, r.power_w, r.inrush_w, r.warmup_s,
                                  r.cooldown_s, r.shed_on_overload, r.priority)
                      for n, r in self.config.relays.items()}
        self.generator = True
        self.recording = "off"
        self.film = False
        self.power_offs = 0
        self.log: list = []

    def world(self) -> World:
        power = 100.0 + sum(l.power_w for l in self.loads.values() if l.on)
        return World(now=self.now, loads=dict(self.loads),
                     power_w=power if self.generator else None,
                     reading_at=self.now if self.generator else None,
                     film=self.film, recording=self.recording.split(":")[0],
                     load_pct=power / self.config.generator.rated_power_w * 100)

    def step(self, msg: Msg):
        before = self.show
        try:
            self.show, effects = self.seq.step(self.show, msg, self.world())
        except Refused:
            assert self.show == before, "a refusal changes nothing"
            return []
        for e in effects:
            self.check(e, before)
            if isinstance(e, Switch):
                l = self.loads[e.relay]
                self.loads[e.relay] = replace(l, on=e.on, on_since=self.now if e.on else None,
                                              off_since=None if e.on else self.now)
            elif isinstance(e, Do):
                self.do(e)
        self.log.append((msg.kind, self.show.state))
        return effects

    def do(self, e: Do):
        if e.what in ("recording.cut", "recording.stop"):
            assert self.recording in ("active", "interrupted"), f"{e.what} with recording {self.recording}"
            self.recording = "busy:" + ("interrupted" if e.what == "recording.cut" else "off")
        elif e.what == "player.stop":
            self.film = False
        elif e.what == "shutdown.power_off":
            self.power_offs += 1

    def check(self, e, before: Show):
        projector = self.loads["projector"]
        if isinstance(e, Switch) and e.on and e.relay == "projector":
            assert projector.cooldown_left(self.now) == 0, "projector switched on while cooling"
        if isinstance(e, Switch) and not e.on and e.relay != "projector" and e.origin in ("show", "shutdown"):
            if self.show.state == "idle" or self.show.generator_up or before.state == "closing":
                assert not projector.on and projector.cooldown_left(self.now) == 0, \
                    f"{e.relay} cut before the projector had cooled"
        if isinstance(e, Switch) and not e.on and e.relay == "blower" and e.origin not in ("power_lost", "shutdown"):
            assert before.state != "screening", "the screen dropped during the film"
        if isinstance(e, Do) and e.what == "shutdown.power_off":
            assert self.power_offs == 0, "powered off twice"
            assert self.recording in ("off",), "powered off with the recording not saved"

    def settle(self):
        """Jobs finish: a busy recording settles."""
        if self.recording.startswith("busy:"):
            self.recording = self.recording.split(":")[1]
            self.step(Msg("tick", "jobs"))


COMMANDS = st.one_of(
    st.just(Msg("show.start", "ui")), st.just(Msg("show.stop", "ui")),
    st.sampled_from([Msg("show.phase", "ui", {"phase": p}) for p in ("ready", "screening", "debate")]),
    st.builds(lambda r, on: Msg("relay", "ui", {"relay": r, "on": on}),
              st.sampled_from(["projector", "blower", "amplifier"]), st.booleans()),
    st.just(Msg("player.started", "player")), st.just(Msg("player.finished", "player")),
    st.just("record"), st.just("generator_lost"), st.just("generator_back"), st.just("settle"),
    st.just(Msg("shutdown", "button", {"trigger": "button"})),
    st.floats(min_value=0.1, max_value=40.0),       # time passes
    st.just("ready"),                                # show start, and the time to be ready
)


@settings(max_examples=300, deadline=None)
@given(st.lists(COMMANDS, min_size=1, max_size=60))
def test_random_evenings_keep_the_equipment_safe(commands):
    rig = FakeRig()
    for command in commands:
        if command == "ready":
            rig.step(Msg("show.start", "ui"))
            command = 25.0
        if isinstance(command, float):
            end = rig.now + command
            while rig.now < end:                 # the rig ticks often; so does this
                rig.now = min(end, rig.now + 1.0)
                rig.step(Msg("tick", "clock"))
        elif command == "record":
            try:
                rig.seq.step(rig.show, Msg("record.start", "ui"), rig.world())
            except Refused:
                continue
            rig.recording = "active"
            rig.step(Msg("recording.started", "ui"))
        elif command == "generator_lost":
            rig.generator = False
            rig.step(Msg("power.lost", "power", {"trigger": "meter_silent"}))
            assert not any(l.on for l in rig.loads.values()), "a load left on with no generator"
        elif command == "generator_back":
            rig.generator = True
            rig.step(Msg("power.restored", "power"))
        elif command == "settle":
            rig.settle()
        else:
            rig.step(command)
        if rig.show.state == "idle" and rig.log and rig.log[-1][0] == "tick" \
                and any(s == "closing" for _, s in rig.log[-3:-1]):
            assert not any(l.on for l in rig.loads.values()), "a load on after the show stopped"
        if rig.show.state == "power_lost":
            assert not any(l.on for l in rig.loads.values())
    assert rig.power_offs <= 1


def test_show_stop_waits_for_the_cool_down_then_switches_off_in_reverse():
    rig = FakeRig()
    rig.step(Msg("show.start", "ui"))
    for _ in range(20):
        rig.now += 1
        rig.step(Msg("tick", "clock"))
    assert rig.show.state == "ready"
    effects = rig.step(Msg("show.stop", "ui"))
    assert [e for e in effects if isinstance(e, Switch)] == [Switch("projector", False, "show")]
    rig.now += 29
    assert not [e for e in rig.step(Msg("tick", "clock")) if isinstance(e, Switch)]
    rig.now += 1
    effects = rig.step(Msg("tick", "clock"))
    assert [e.relay for e in effects if isinstance(e, Switch)] == ["amplifier", "blower"]
    assert rig.show.state == "idle"
    assert Do("screening.close") in effects


def test_shutdown_with_a_recording_saves_it_lets_the_lamp_cool_then_powers_off_once():
    rig = FakeRig()
    rig.step(Msg("show.start", "ui"))
    for _ in range(20):
        rig.now += 1
        rig.step(Msg("tick", "clock"))
    rig.recording = "active"
    effects = rig.step(Msg("shutdown", "button", {"trigger": "button"}))
    assert Do("recording.stop", {"reason": "shutdown"}) in effects
    assert Switch("projector", False, "shutdown") in effects
    assert not any(isinstance(e, Do) and e.what == "shutdown.power_off" for e in effects)
    rig.now += 40
    rig.step(Msg("tick", "clock"))
    assert rig.power_offs == 0, "not while the recording is being saved"
    rig.settle()
    assert rig.power_offs == 1 and not any(l.on for l in rig.loads.values())
    rig.now += 10
    rig.step(Msg("tick", "clock"))
    assert rig.power_offs == 1


def test_a_refused_command_changes_nothing():
    rig = FakeRig()
    rig.generator = False
    with pytest.raises(Refused) as info:
        rig.seq.step(rig.show, Msg("show.start", "ui"), rig.world())
    assert info.value.code == "generator_offline"
    assert rig.show == Show()


def test_emits_are_codes_with_figures_not_prose():
    rig = FakeRig()
    effects = rig.step(Msg("show.start", "ui"))
    states = [e for e in effects if isinstance(e, Emit) and e.code == "show.state"]
    assert states == [Emit("show.state", "info", "show", {"old": "idle", "new": "preparing", "origin": "ui"})]
