"""Rig and office together: a real rigd hands its evening over through a real mosquitto to
a real `mdu-office`, which shows it. Each side alone: test_fleet.py, test_office.py."""

import time

import pytest

from .broker import Broker
from .helpers import http, wait_for
from .test_fleet import QUICK, evening, fleet, secret, seed_evenings
from .test_office import Office

pytestmark = pytest.mark.timeout(90)


def test_an_evening_on_a_rig_reaches_the_office_page_once(tmp_path, rig_process):
    broker = Broker(tmp_path / "broker", users={"mdu-1": "pw-rig", "office": "pw-office"}).start()
    office = Office(tmp_path, broker, client_id="office-e2e", password="pw-office").start()
    try:
        rig = rig_process({**QUICK, **fleet(broker.url(tls=True), broker.ca_file,
                                            secret(tmp_path, "pw-rig"))}, start=False)
        hours = seed_evenings(rig.data_dir, time.time(), days=[1], hours=2)   # yesterday's run
        rig.start()
        sid = evening(rig, stop=False)
        code, reply = http("PATCH", f"{rig.url}/api/screenings/{sid}", {
            "place": {"village": "Didiéni"}, "audience": {"women": 31, "men": 24, "youth": 12}})
        assert code == 200, reply
        assert rig.rigctl("show", "stop").returncode == 0
        wait_for(lambda: rig.status()["fleet"]["queued"] == 0, 30, what="the outbox emptied")

        def arrived():
            rep = office.fleet()
            return rep if rep["audience"]["total"].get("screenings") == 1 else None
        rep = wait_for(arrived, 15, what="the office to show the evening")
        total = rep["audience"]["total"]
        assert (total["women"], total["men"], total["youth"]) == (31, 24, 12)
        assert total["women_pct"] == 46.3              # 31 of 67
        assert [r["rig"] for r in rep["rigs"]] == ["mdu-1"]
        assert rep["counters"]["rejected"] == 0
        # the generator's hours as the rig sums them up, read as the office's page shows them
        gen = wait_for(lambda: (g := office.fleet()["generator"]["total"])["hours_reported"] == hours
                       and g, 15, what="the generator's hours at the office")
        assert gen["hours"] == pytest.approx(hours, abs=0.05)        # the meter answered all along
        assert gen["kwh"] == pytest.approx(0.81 * hours, abs=0.01)   # 810 W for each hour
        page = office.get("/").decode()
        assert "mdu-1" in page and "46,3" in page       # French: a decimal comma
    finally:
        office.stop()
        broker.stop()
