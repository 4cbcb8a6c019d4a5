"""The field checklist (issue 16): `rigctl doctor` and GET /api/checks against the real rigd.

Each check must tell the truth about this machine: a clock nobody
checked, a rig started by hand (not the service), no kiosk, a microphone
that is not there; and go green when that changes.
"""

from .helpers import wait_for

EVERY_CHECK = ["config", "clock", "storage", "disks", "supply", "meter", "projector", "camera",
               "microphone", "service", "kiosk"]


def checklist(rig, lang="en") -> dict:
    return {c["id"]: c for c in rig.get(f"/api/checks?lang={lang}")[1]["checks"]}


def signs(stdout: str) -> dict:
    """Each checklist line's title (as printed) -> its sign."""
    out = {}
    for line in stdout.splitlines():
        line = line.strip()
        if line[:1] in "✓✗–":
            out[line[2:33].strip()] = line[0]
    return out


def test_doctor_prints_the_whole_checklist_truthfully(rig_process):
    rig = rig_process({"clock": {"assume_trusted": False},
                       "microphone": {"backend": "sounddevice", "device": "no-such-microphone"}},
                      env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    # rigd answers before its first meter poll has (on a loaded machine): read the
    # checklist once the simulated meter has been heard, as it always is here.
    checks = wait_for(lambda: (c := checklist(rig))["meter"]["ok"] and c, what="the meter heard")
    assert list(checks) == EVERY_CHECK
    assert {k: c["ok"] for k, c in checks.items()} == {
        "config": True, "clock": False, "storage": True, "disks": checks["disks"]["ok"],
        "supply": None,            # not a Pi: nothing to read, and it says so
        "meter": True, "projector": None,             # no mains: its link cannot answer yet
        "camera": True, "microphone": False, "service": False, "kiosk": False}
    assert all(c["fix"] for c in checks.values() if c["ok"] is False)

    rig.config_path.chmod(0o640)             # as the installer leaves them
    rig.data_dir.chmod(0o750)
    doctor = rig.rigctl("doctor", "--config", str(rig.config_path))
    assert doctor.returncode == 1
    shown = signs(doctor.stdout)
    for check in checks.values():
        assert shown[check["title"]] == {True: "✓", False: "✗", None: "–"}[check["ok"]], check
    assert "→ Plug the (USB) microphone in" in doctor.stdout
    assert "✓ pin, config, keys" in doctor.stdout

    rig.rigctl("clock", "confirm")
    wait_for(lambda: checklist(rig)["clock"]["ok"], what="the clock checked")
    assert signs(rig.rigctl("doctor", "--config", str(rig.config_path)).stdout)["Date and time"] == "✓"
    assert "vérifiée par l'équipe" in checklist(rig, "fr")["clock"]["text"]


def test_doctor_says_when_rigd_does_not_answer(rig_process):
    rig = rig_process(start=False)
    result = rig.rigctl("doctor", "--config", str(rig.config_path))
    assert result.returncode == 1
    assert "✗ rigd" in result.stdout and "sudo systemctl start rigd" in result.stdout
