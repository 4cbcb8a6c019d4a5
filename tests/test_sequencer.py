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
from appliance.effects import Do, Emit, LoadView, Msg, ProjectorView, Switch, World
from appliance.refusal import Refused
from appliance.show import ShowSequencer
from appliance.show_state import Show


def config() -> Config:
    c = Config()
    c.show.switch_gap_s = 2.0
    c.show.inflate_s = 5.0
    c.relays["projector"].warmup_s = 10.0
    c.relays["projector"].cooldown_s = 30.0
    return c


class FakeProjector:
    """A lamp projector's power as its manual tells it: mains, standby, warm-up, on, cooling."""

    def __init__(self, link="pjlink", lamp=True, warmup_s=8.0, cooldown_s=25.0):
        self.link, self.lamp = link, lamp
        self.warmup_s, self.cooldown_s = warmup_s, cooldown_s
        self.power, self.since = "off", 0.0       # off: no mains
        self.lamp_off_at: float | None = None

    def at(self, now: float) -> str:
        if self.power == "warming" and now - self.since >= self.warmup_s:
            self.power, self.since = "on", self.since + self.warmup_s
        if self.power == "cooling" and now - self.since >= self.cooldown_s:
            self.power, self.since = "standby", self.since + self.cooldown_s
        return self.power

    def mains(self, on: bool, now: float):
        self.at(now)
        if on and self.power == "off":
            # no link: "direct power on", as such projectors are set up
            self.power, self.since = ("standby", now) if self.link != "none" else ("warming", now)
        elif not on:
            self.power = "off"

    def command(self, on: bool, now: float):
        power = self.at(now)
        if on and power == "standby":
            self.power, self.since = "warming", now
        elif not on and power in ("on", "warming"):
            self.power, self.since, self.lamp_off_at = "cooling", now, now

    def button(self, now: float):
        """The crew presses the projector's own power button (no link)."""
        if self.at(now) in ("on", "warming"):
            self.power, self.since, self.lamp_off_at = "cooling", now, now

    def hot(self, now: float) -> bool:
        return self.lamp and self.at(now) in ("on", "warming", "cooling")

    def view(self, now: float, mains_since=None) -> ProjectorView:
        power = self.at(now)
        silent = power == "off" or now < self.boots_until
        return ProjectorView(link=self.link, link_state="lost" if silent else "ok",
                             power="unknown" if self.link == "none" or silent else power,
                             lamp=self.lamp, cooldown_s=30.0, cooldown_max_s=300.0,
                             mains_since=mains_since)

    boots_until = 0.0                              # silent on its link until then


class FakeRig:
    """Carries out the sequencer's effects on a model of the relays, projector, player, recorder."""

    def __init__(self, link="pjlink", lamp=True):
        self.config = config()
        self.seq = ShowSequencer(self.config)
        self.show = Show()
        self.now = 0.0
        self.loads = {n: LoadView(n, False, None, None, r.power_w, r.inrush_w, r.warmup_s,
                                  r.cooldown_s, r.shed_on_overload, r.priority)
                      for n, r in self.config.relays.items()}
        self.projector = FakeProjector(link, lamp)
        self.generator = True
        self.recording = "off"
        self.film = False
        self.power_offs = 0
        self.log: list = []

    def world(self) -> World:
        power = 100.0 + sum(l.power_w for l in self.loads.values() if l.on)
        if self.loads["projector"].on and self.projector.at(self.now) in ("standby", "cooling"):
            power -= self.loads["projector"].power_w * 0.8      # lamp off: the fan only
        return World(now=self.now, loads=dict(self.loads),
                     power_w=power if self.generator else None,
                     reading_at=self.now if self.generator else None,
                     film=self.film, recording=self.recording.split(":")[0],
                     load_pct=power / self.config.generator.rated_power_w * 100,
                     projector=self.projector.view(self.now, self.loads["projector"].on_since))

    def step(self, msg: Msg):
        before = self.show
        try:
            self.show, effects = self.seq.step(self.show, msg, self.world())
        except Refused:
            assert self.show == before, "a refusal changes nothing"
            return []
        for e in effects:
            self.check(e, before, effects)
            if isinstance(e, Switch):
                l = self.loads[e.relay]
                cooled = not e.on and not e.cool
                self.loads[e.relay] = replace(l, on=e.on, on_since=self.now if e.on else None,
                                              off_since=None if e.on or cooled else self.now)
                if e.relay == "projector":
                    self.projector.mains(e.on, self.now)
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
        elif e.what == "projector.power":
            assert self.projector.link != "none", "a command with no link"
            if self.now >= self.projector.boots_until:    # a pulled cable loses it
                self.projector.command(e.args["on"], self.now)
        elif e.what == "shutdown.power_off":
            self.power_offs += 1

    def check(self, e, before: Show, effects):
        projector = self.loads["projector"]
        timed_out = any(isinstance(x, Emit) and x.code == "projector.cooldown_timeout" for x in effects)
        if isinstance(e, Switch) and e.on and e.relay == "projector":
            assert projector.cooldown_left(self.now) == 0, "projector switched on while cooling"
        if isinstance(e, Switch) and not e.on and e.relay == "projector" and e.origin in ("show", "shutdown") \
                and not timed_out and self.generator:
            p = self.projector
            assert not p.hot(self.now), f"mains cut with the lamp {p.at(self.now)}"
            if p.link == "none" and p.lamp:
                assert p.lamp_off_at is not None and self.now - p.lamp_off_at >= 25.0, \
                    "mains cut before the fan had run its time"
        if isinstance(e, Switch) and not e.on and e.relay != "projector" and e.origin in ("show", "shutdown"):
            if before.state == "closing" or (before.state == "shutting_down" and before.generator_up):
                assert not projector.on, f"{e.relay} cut before the projector"
        if isinstance(e, Switch) and not e.on and e.relay == "blower" and e.origin not in ("power_lost", "shutdown"):
            assert before.state != "screening", "the screen dropped during the film"
        if isinstance(e, Do) and e.what == "shutdown.power_off":
            assert self.power_offs == 0, "powered off twice"
            # on battery a cut part is enough (its segments are safe; the next boot joins them)
            assert self.recording in ("off", "interrupted"), "powered off with the recording not saved"
            assert self.recording == "off" or not before.generator_up, "not joined though time allowed"

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
    st.just("button"), st.just("stop_and_press"),    # the crew presses the projector's button
    st.just(Msg("projector.lamp_off", "ui")),        # ... and says so on the screen
    st.builds(lambda on: Msg("projector.command", "cli", {"on": on}), st.booleans()),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(COMMANDS, min_size=1, max_size=60),
       st.sampled_from([("pjlink", True), ("none", True), ("pjlink", False), ("escvp21", True)]))
def test_random_evenings_keep_the_equipment_safe(commands, projector):
    rig = FakeRig(*projector)
    for command in commands:
        if command == "stop_and_press":
            rig.step(Msg("show.stop", "ui"))
            command = "button"
        if command == "button":
            rig.projector.button(rig.now)
            continue
        if isinstance(command, Msg) and command.kind == "projector.lamp_off" \
                and rig.projector.lamp_off_at is None:
            continue                             # the crew says so only once it is true
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


def run(rig, seconds, step=1.0):
    effects = []
    for _ in range(int(seconds / step)):
        rig.now += step
        effects += rig.step(Msg("tick", "clock"))
    return effects


def switches(effects):
    return [(e.relay, e.on) for e in effects if isinstance(e, Switch)]


def test_ready_when_the_projector_says_on_not_by_a_timer():
    rig = FakeRig("pjlink")
    rig.projector.warmup_s = 40.0                    # longer than the relay's 10 s timer
    rig.step(Msg("show.start", "ui"))
    effects = run(rig, 20)
    assert Do("projector.power", {"on": True}) in effects, "on once it said standby"
    assert rig.show.state == "preparing" and rig.show.waiting["code"] == "projector_warming"
    run(rig, 25)
    assert rig.projector.at(rig.now) == "on" and rig.show.state == "ready"


def test_a_projector_still_booting_is_waited_for_then_the_timers_take_over():
    rig = FakeRig("pjlink")
    rig.projector.boots_until = 1e9                  # it never answers on its link
    rig.step(Msg("show.start", "ui"))
    run(rig, 50)
    assert rig.show.state == "preparing", "a minute for its network to come up"
    run(rig, 20)
    assert rig.show.state == "ready", "then the relay's timers decide (the crew is warned)"


def test_show_stop_keeps_mains_on_while_the_lamp_cools_then_switches_off_in_reverse():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    assert rig.show.state == "ready"
    effects = rig.step(Msg("show.stop", "ui"))
    assert Do("projector.power", {"on": False}) in effects and switches(effects) == []
    assert rig.projector.at(rig.now) == "cooling"
    effects = run(rig, 24)
    assert switches(effects) == [], "mains stays on while it says cooling"
    effects = run(rig, 2)
    assert switches(effects) == [("projector", False), ("amplifier", False), ("blower", False)]
    assert rig.show.state == "idle" and Do("screening.close") in effects
    assert rig.loads["projector"].cooldown_left(rig.now) == 0, "cooled: it may start again at once"


def test_with_no_link_the_crew_is_asked_and_the_meter_tells_when_the_lamp_is_off():
    rig = FakeRig("none")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    effects = rig.step(Msg("show.stop", "ui"))
    assert [e.code for e in effects if isinstance(e, Emit)][-1] == "projector.press_power"
    assert switches(run(rig, 60)) == [], "nobody pressed the button: mains stays on"
    rig.projector.button(rig.now)
    effects = run(rig, 6)                          # the drop must hold, not be a passing dip
    assert any(isinstance(e, Emit) and e.code == "projector.lamp_off" and e.data["by"] == "meter"
               for e in effects)
    assert switches(run(rig, 23)) == []
    assert ("projector", False) in switches(run(rig, 2)), "cooldown_s after the lamp went off"


def test_a_link_lost_at_the_end_of_the_evening_never_cuts_a_lit_lamp():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    rig.projector.boots_until = 1e9                # the cable is pulled: no word, lamp still on
    effects = rig.step(Msg("show.stop", "ui"))
    assert any(isinstance(e, Emit) and e.code == "projector.press_power" for e in effects)
    assert switches(run(rig, 120)) == [], "the lamp is lit: mains stays on"
    rig.projector.button(rig.now)                  # the crew presses its button
    run(rig, 40)
    assert not rig.loads["projector"].on


def test_a_projector_that_hears_but_does_not_obey_gets_its_button_pressed_by_the_crew():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    rig.projector.command = lambda on, now: None     # answers, and ignores every command
    rig.step(Msg("show.stop", "ui"))
    effects = run(rig, 50)
    assert [e.code for e in effects if isinstance(e, Emit)].count("projector.press_power") == 1
    assert switches(effects) == [], "the lamp is lit: mains stays on"
    rig.projector.button(rig.now)                    # the crew presses it
    effects = run(rig, 30)
    assert ("projector", False) in switches(effects) and rig.show.state == "idle"


def test_a_projector_that_never_cools_is_cut_at_cooldown_max_with_an_event():
    rig = FakeRig("none")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    rig.step(Msg("show.stop", "ui"))
    effects = run(rig, 300)
    assert ("projector", False) in switches(effects)
    assert any(isinstance(e, Emit) and e.code == "projector.cooldown_timeout" for e in effects)


def test_cutting_a_hot_lamp_by_hand_is_refused_unless_forced():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    with pytest.raises(Refused) as info:
        rig.seq.step(rig.show, Msg("relay", "ui", {"relay": "projector", "on": False}), rig.world())
    assert info.value.code == "projector_cooling" and info.value.data["left_s"] > 0
    effects = rig.step(Msg("relay", "cli", {"relay": "projector", "on": False, "force": True}))
    assert ("projector", False) in switches(effects)
    assert any(isinstance(e, Emit) and e.code == "relay.forced" for e in effects)


def test_losing_the_generator_with_the_lamp_hot_is_on_record():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    rig.generator = False
    effects = rig.step(Msg("power.lost", "power", {"trigger": "meter_silent"}))
    assert any(isinstance(e, Emit) and e.code == "projector.hot_power_loss" for e in effects)
    assert Do("screening.lamp_abuse", {"code": "projector.hot_power_loss"}) in effects


def test_shutdown_with_a_recording_saves_it_lets_the_lamp_cool_then_powers_off_once():
    rig = FakeRig("pjlink")
    rig.step(Msg("show.start", "ui"))
    run(rig, 30)
    rig.recording = "active"
    effects = rig.step(Msg("shutdown", "button", {"trigger": "button"}))
    assert Do("recording.stop", {"reason": "shutdown"}) in effects
    assert Do("projector.power", {"on": False}) in effects and switches(effects) == []
    run(rig, 40)
    assert rig.power_offs == 0, "not while the recording is being saved"
    rig.settle()
    assert rig.power_offs == 1 and not any(l.on for l in rig.loads.values())
    run(rig, 10)
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


def test_nothing_is_switched_on_while_the_show_closes():
    """Found by the random evenings: an LED projector (no lamp to cool) is cut at once on
    Stop; switched on again before the amplifier's turn, it was left on, the show idle and
    the crew told the generator could stop."""
    rig = FakeRig("pjlink", False)
    rig.step(Msg("show.start", "ui"))
    run(rig, 25)
    rig.step(Msg("show.stop", "ui"))
    assert rig.show.state == "closing" and not rig.loads["projector"].on
    with pytest.raises(Refused) as refused:
        rig.seq.step(rig.show, Msg("relay", "ui", {"relay": "projector", "on": True}), rig.world())
    assert refused.value.code == "not_now"
    run(rig, 60)
    assert rig.show.state == "idle" and not any(l.on for l in rig.loads.values())
