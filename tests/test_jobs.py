"""The one runner of slow work: one job of a name at a time, its end told to the rig."""

import queue
import threading

import pytest

from appliance.jobs import Jobs
from appliance.refusal import Refused


def test_one_import_at_a_time_and_the_rig_hears_of_its_end():
    told: queue.Queue = queue.Queue()
    jobs = Jobs(told.put)
    release = threading.Event()
    settled = jobs.start("import", lambda: release.wait(5) and "copied")
    assert jobs.running() == ["import"]
    with pytest.raises(Refused) as info:
        jobs.start("import", lambda: None, busy=Refused("import_running", source="/media/usb0"))
    assert info.value.code == "import_running" and info.value.data["source"] == "/media/usb0"
    release.set()
    msg = told.get(timeout=5)
    assert msg.kind == "job.done" and msg.data["name"] == "import"
    assert not settled.done(), "settled only once the rig has handled the news"
    msg.data["settled"].set_result(msg.data["future"].result())
    assert settled.result(1) == "copied"
    jobs.start("import", lambda: None)            # free again


def test_an_export_never_holds_up_the_recording_cut():
    """The errands' lane can be full: the rig's lane still runs at once."""
    jobs = Jobs()
    release = threading.Event()
    for n in range(4):
        jobs.submit(f"export{n}", release.wait, 10, lane="work")
    assert jobs.submit("recording.cut", lambda: "cut").result(5) == "cut"
    release.set()


def test_without_a_rig_a_job_settles_by_itself_failures_included():
    jobs = Jobs()
    assert jobs.submit("prune", lambda: ([], [])).result(5) == ([], [])

    def broken():
        raise OSError("the stick was pulled")
    with pytest.raises(OSError, match="pulled"):
        jobs.submit("export", broken).result(5)
    assert jobs.running() == []
