"""The generator meter against real Modbus RTU peers on pseudo-terminals."""

import os
import threading
import time
import tty

import pytest

from appliance.clock import SystemClock
from appliance.config import Config
from appliance.devices.meter import Meter, MeterPoller
from appliance.devices.profiles import PROFILES
from appliance.events import EventBus
from appliance.rig import Rig
from appliance.store import Store

from .helpers import wait_for

# An exchange captured from a real PZEM-004T on its serial line.
PZEM_REQUEST = bytes.fromhex("01 04 00 00 00 0A 70 0D")
PZEM_REPLY = bytes.fromhex("01 04 14 08 C5 00 6C 00 00 00 F2 00 00 18 3D 00 00 01 F4 00 64 00 00 53 8E")


def test_real_pzem_reply_decodes_to_its_figures():
    """A peer that answers the captured request with the captured reply, byte for byte."""
    master, slave = os.openpty()
    tty.setraw(slave)
    seen = []

    def peer():
        data = b""
        while len(data) < len(PZEM_REQUEST):
            data += os.read(master, 64)
        seen.append(data)
        os.write(master, PZEM_REPLY)

    t = threading.Thread(target=peer, daemon=True)
    t.start()
    meter = Meter(os.ttyname(slave), PROFILES["pzem004t"], address=1, timeout_s=1.0)
    try:
        reading = meter.poll()
    finally:
        meter.close()
        os.close(master)
        os.close(slave)
    assert seen == [PZEM_REQUEST], "the request on the wire must be the documented frame"
    assert meter.link == "online"
    assert reading["voltage_v"] == 224.5
    assert reading["current_a"] == 0.108
    assert reading["power_w"] == 24.2
    assert reading["energy_wh"] == 6205
    assert reading["frequency_hz"] == 50.0
    assert reading["power_factor"] == 1.00
    assert reading["meter_alarm"] == 0


class Peer:
    """A device on a pty that answers each request with the next of ``replies`` (bytes, or
    None: silence), noting when each request came."""

    def __init__(self, replies):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.requests: list[tuple[float, bytes]] = []
        self.replied_at: list[float] = []
        self._replies = list(replies)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        for reply in self._replies:
            data = b""
            while len(data) < len(PZEM_REQUEST):
                try:
                    data += os.read(self.master, 64)
                except OSError:
                    return
            self.requests.append((time.monotonic(), data))
            if reply is not None:
                os.write(self.master, reply)
                self.replied_at.append(time.monotonic())

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def polled(replies, polls=1, retries=0):
    peer = Peer(replies)
    meter = Meter(peer.port, PROFILES["pzem004t"], address=1, timeout_s=0.3, retries=retries)
    try:
        readings = [meter.poll() for _ in range(polls)]
    finally:
        meter.close()
        peer.close()
    return meter, readings, peer


def with_crc(body: bytes) -> bytes:
    from appliance.devices.rtu import crc16
    return body + crc16(body)


def test_the_checksum_is_modbus_s():
    from appliance.devices.rtu import crc16
    assert crc16(PZEM_REQUEST[:-2]) == PZEM_REQUEST[-2:]
    assert crc16(PZEM_REPLY[:-2]) == PZEM_REPLY[-2:]


def test_a_modbus_exception_is_the_meter_refusing_not_noise():
    meter, [reading], _ = polled([with_crc(bytes.fromhex("01 84 02"))])     # illegal address
    assert reading is None and meter.link == "stale" and meter.link_reason == "exception"
    assert meter.counters.exceptions == 1 and meter.counters.bad_frames == 0
    assert "illegal data address" in meter.counters.last_error.lower()


@pytest.mark.parametrize("reply", [
    with_crc(PZEM_REPLY[:1].replace(b"\x01", b"\x02") + PZEM_REPLY[1:-2]),   # another meter's
    with_crc(b"\x01\x03" + PZEM_REPLY[2:-2]),                                # another function
    PZEM_REPLY[:-1],                                                          # cut short
    PZEM_REPLY[:-1] + bytes([PZEM_REPLY[-1] ^ 0x40]),                         # a flipped bit
], ids=["address", "function", "short", "checksum"])
def test_a_reply_that_is_not_the_answer_is_a_bad_frame_and_read_again(reply):
    meter, [reading], peer = polled([reply, PZEM_REPLY], retries=1)
    assert meter.counters.bad_frames == 1
    assert len(peer.requests) == 2 and reading["voltage_v"] == 224.5 and meter.link == "online"


def test_silence_is_no_answer():
    meter, [reading], _ = polled([None])
    assert reading is None and meter.link == "offline" and meter.link_reason == "no_answer"
    assert meter.counters.timeouts == 1


def test_two_requests_are_three_and_a_half_characters_of_silence_apart():
    """At 9600 baud, 4 ms: a meter may take a frame that follows too close as its tail."""
    meter, readings, peer = polled([PZEM_REPLY] * 3, polls=3)
    assert all(r is not None for r in readings)
    gaps = [peer.requests[i + 1][0] - peer.replied_at[i] for i in range(2)]
    assert min(gaps) >= 3.5 * 11 / 9600 - 0.0005, gaps


@pytest.mark.parametrize("profile", ["pzem004t", "sdm120", "dse"])
def test_each_profile_is_read_end_to_end(sim_generator, profile):
    gen = sim_generator(profile, base_load_w=700)
    meter = Meter(gen.port_path, PROFILES[profile], timeout_s=0.3)
    try:
        reading = meter.poll()
    finally:
        meter.close()
    assert meter.link == "online", meter.counters.last_error
    assert 220 < reading["voltage_v"] < 240
    assert 49 < reading["frequency_hz"] < 51
    assert 650 < reading["power_w"] < 750
    assert reading["current_a"] == pytest.approx(reading["power_w"] / reading["voltage_v"] / 0.93, rel=0.1)
    assert reading["energy_wh"] > 0
    if profile == "dse":
        assert reading["engine_state"] == "running"
        assert reading["control_mode"] == "auto"
        assert 0 < reading["fuel_pct"] <= 100
        assert reading["battery_v"] == 13.6
        assert reading["run_hours"] > 100
        assert reading["power_factor"] is None     # GenComm essentials carry no PF
    else:
        assert 0.9 < reading["power_factor"] <= 1


def test_dse_not_available_values_read_as_none():
    registers = PROFILES["dse"].encode({"fuel_pct": None, "voltage_v": 231.0})
    values = PROFILES["dse"].decode(registers)
    assert values["fuel_pct"] is None
    assert values["voltage_v"] == 231.0


class Watched:
    """A rig watching a meter that polls in its own thread, as in the daemon."""

    def __init__(self, tmp_path, port, profile="pzem004t", interval=0.2, timeout=0.2):
        config = Config()
        config.generator.poll_interval_s = interval
        config.generator.timeout_s = timeout
        config.storage.data_dir = str(tmp_path)
        self.clock = SystemClock()
        self.store = Store(tmp_path / "rig.sqlite3")
        self.events = EventBus(self.store, self.clock)
        self.meter = Meter(port, PROFILES[profile], timeout_s=timeout, poll_interval_s=interval)
        config.show.order = []
        self.rig = Rig(config, self.store, self.events, self.clock, {}, meter=self.meter)
        self.rig.start()
        self.poller = MeterPoller(self.meter, self.rig.on_poll)
        self.poller.start()

    def generator(self):
        return self.rig.snapshot["generator"]

    def close(self):
        self.poller.stop()
        self.rig.stop()
        self.store.close()


@pytest.fixture
def watched(tmp_path):
    made = []

    def make(port, **kw):
        w = Watched(tmp_path / f"w{len(made)}", port, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def test_silent_meter_goes_offline_in_time_and_shows_no_numbers(sim_generator, watched):
    gen = sim_generator()
    w = watched(gen.port_path, interval=0.2, timeout=0.2)
    wait_for(lambda: w.generator()["online"], what="online")
    gen.scenario = "failure"
    silent_at = time.monotonic()
    wait_for(lambda: not w.generator()["online"], timeout=3, what="offline")
    detected = time.monotonic() - silent_at
    assert detected <= 0.2 + 0.2 + 0.15, f"offline after {detected:.2f} s"
    g = w.generator()
    assert g["link"] == "offline" and g["reason"] == "no_answer"
    for key in ("voltage_v", "current_a", "power_w", "frequency_hz", "energy_wh",
                "power_factor", "load_pct"):
        assert g[key] is None, key
    assert g["age_s"] is not None and g["updated_at"] is not None
    assert g["counters"]["timeouts"] >= 1
    assert g["health"]["state"] == "lost"

    gen.scenario = "steady"
    wait_for(lambda: w.generator()["online"], timeout=2, what="back online")
    assert w.generator()["power_w"] > 0
    codes = lambda: [e["code"] for e in w.store.events()]
    wait_for(lambda: "generator.meter_lost.cleared" in codes(), what="the cleared event")
    assert codes().index("generator.meter_lost") < codes().index("generator.meter_lost.cleared")


@pytest.mark.parametrize("fault", ["garbage", "badcrc"])
def test_corrupt_replies_are_counted_and_good_values_resume(sim_generator, watched, fault):
    gen = sim_generator()
    w = watched(gen.port_path, interval=0.05, timeout=0.2)
    wait_for(lambda: w.generator()["online"], what="online")
    gen.scenario = fault
    wait_for(lambda: w.meter.counters.bad_frames >= 5, what="bad frames counted")
    g = w.generator()
    assert not g["online"] and g["link"] == "stale" and g["power_w"] is None
    assert w.poller._thread.is_alive()
    gen.scenario = "steady"
    wait_for(lambda: w.generator()["online"], what="good values again")
    assert 220 < w.generator()["voltage_v"] < 240


def test_unplugged_adapter_is_picked_up_within_one_poll_of_returning(sim_generator, watched):
    gen = sim_generator()
    w = watched(gen.port_path, interval=0.3, timeout=0.2)
    wait_for(lambda: w.generator()["online"], what="online")
    gen.link.unplug()
    wait_for(lambda: w.generator()["reason"] in ("port_missing", "port_error"), what="port lost")
    assert not os.path.exists(gen.port_path)
    wait_for(lambda: w.meter.counters.port_errors >= 3, what="reconnect attempts")
    gen.link.plug()
    back_at = time.monotonic()
    wait_for(lambda: w.generator()["online"], timeout=3, what="online after replug")
    assert time.monotonic() - back_at <= 0.3 + 0.2 + 0.15
    assert w.meter.counters.reconnects >= 1
