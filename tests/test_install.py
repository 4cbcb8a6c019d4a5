"""Installing on a Pi: units, firmware config, the staged tree, the watchdog."""

import grp
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import BIN, REPO

FIXTURES = Path(__file__).parent / "fixtures" / "bookworm"
INSTALL = REPO / "firmware_config" / "install"


def staged(tmp_path, prefix=None, env=None) -> tuple[Path, Path]:
    stage = tmp_path / "stage"
    prefix = prefix or (tmp_path / "prefix")
    result = subprocess.run(["make", "-s", "install", f"DESTDIR={stage}", f"PREFIX={prefix}"],
                            cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return stage, prefix


def test_make_install_stages_the_tree_and_touches_nothing_else(tmp_path):
    before = {p: Path(p).exists() for p in ("/etc/mdu-rig", "/etc/systemd/system/rigd.service",
                                              "/etc/polkit-1/rules.d/50-mdu-rig.rules",
                                              "/opt/mdu-rig")}
    stage, prefix = staged(tmp_path, Path("/opt/mdu-rig"))
    for path in ("etc/systemd/system/rigd.service", "etc/systemd/system/rigd-kiosk.service",
                 "etc/polkit-1/rules.d/50-mdu-rig.rules", "etc/udev/rules.d/99-mdu-generator.rules",
                 "etc/systemd/system.conf.d/90-mdu-rig-watchdog.conf", "etc/mdu-rig/rig.toml",
                 "opt/mdu-rig/appliance/daemon.py", "opt/mdu-rig/firmware_config/install",
                 "opt/mdu-rig/firmware_config/storage"):
        assert (stage / path).exists(), path
    assert not (stage / "opt/mdu-rig/.git").exists() and not (stage / "opt/mdu-rig/.venv").exists()
    unit = (stage / "etc/systemd/system/rigd.service").read_text()
    assert "ExecStart=/opt/mdu-rig/.venv/bin/rigd --config /etc/mdu-rig/rig.toml" in unit
    assert not re.search(r"@[A-Z]+@", unit), "a placeholder left unfilled"
    assert {p: Path(p).exists() for p in before} == before, "the real system was touched"

    # a second install keeps the crew's config
    config = stage / "etc/mdu-rig/rig.toml"
    config.write_text("[generator]\nprofile = \"sdm120\"\n")
    staged(tmp_path, Path("/opt/mdu-rig"))
    assert config.read_text() == "[generator]\nprofile = \"sdm120\"\n"
    assert (stage / "etc/mdu-rig/rig.toml.sample").exists()

    # and uninstall removes the software and units, not the config
    result = subprocess.run(["make", "-s", "uninstall", f"DESTDIR={stage}", "PREFIX=/opt/mdu-rig"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (stage / "etc/systemd/system/rigd.service").exists()
    assert not (stage / "opt/mdu-rig").exists()
    assert config.exists()


def test_units_pass_systemd_analyze_verify(tmp_path):
    stage, prefix = staged(tmp_path)
    # the programs the units start, where the units say they are
    (prefix / ".venv/bin").mkdir(parents=True)
    (prefix / ".venv/bin/rigd").write_text("#!/bin/sh\n")
    (prefix / ".venv/bin/rigd").chmod(0o755)
    (prefix / "systemd").mkdir()
    shutil.copy(REPO / "systemd/rigd-kiosk", prefix / "systemd/rigd-kiosk")
    for unit in ("rigd.service", "rigd-kiosk.service"):
        result = subprocess.run(["systemd-analyze", "verify", str(stage / "etc/systemd/system" / unit)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr.strip() == "", f"{unit}: {result.stderr}"
    unit = (stage / "etc/systemd/system/rigd.service").read_text()
    for needed in ("Type=notify", "WatchdogSec=", "Restart=always", "User=mdurig",
                   "SupplementaryGroups=gpio dialout video audio render", "ProtectSystem=strict",
                   "ReadWritePaths=/var/lib/mdu-rig", "ReadWritePaths=-/srv/mdu-recordings",
                   "ProtectHome=yes", "NoNewPrivileges=yes",
                   "DevicePolicy=closed", "DeviceAllow=char-gpiochip rw", "RuntimeDirectory=mdu-rig"):
        assert needed in unit, needed
    assert "PrivateDevices" not in unit
    rules = (stage / "etc/polkit-1/rules.d/50-mdu-rig.rules").read_text()
    assert 'subject.user == "mdurig"' in rules and "org.freedesktop.login1.power-off" in rules


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_config_is_readable_by_root_and_the_daemon_only(tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name          # stands in for mdurig, which is not here
    stage, _ = staged(tmp_path, env={"SERVICE_GROUP": group})
    folder, config = stage / "etc/mdu-rig", stage / "etc/mdu-rig/rig.toml"
    assert mode(folder) == 0o750, oct(mode(folder))
    assert mode(config) == 0o640, oct(mode(config))
    if os.getuid() == 0:
        for path in (folder, config):
            assert (path.stat().st_uid, path.stat().st_gid) == (0, os.getgid()), path

    # an install before this one left them open: the next one closes them, keeping the content
    folder.chmod(0o755)
    config.chmod(0o644)
    config.write_text('[web]\npin = "428519"\n')
    staged(tmp_path, env={"SERVICE_GROUP": group})
    assert (mode(folder), mode(config)) == (0o750, 0o640)
    assert config.read_text() == '[web]\npin = "428519"\n'
    assert mode(folder / "rig.toml.sample") == 0o640


def rendered_units(tmp_path) -> Path:
    """The units as installed, with the programs they start where they say."""
    stage, prefix = staged(tmp_path)
    (prefix / ".venv/bin").mkdir(parents=True)
    (prefix / ".venv/bin/rigd").write_text("#!/bin/sh\n")
    (prefix / ".venv/bin/rigd").chmod(0o755)
    (prefix / "systemd").mkdir(exist_ok=True)
    shutil.copy(REPO / "systemd/rigd-kiosk", prefix / "systemd/rigd-kiosk")
    return stage / "etc/systemd/system"


def exposure(unit: Path) -> float:
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    return float(found.group(1))


# Measured: rigd 3.9 and the kiosk 9.2 ("UNSAFE") before the hardening; 1.7 and 2.3 after.
@pytest.mark.parametrize("unit,most", [("rigd.service", 2.0), ("rigd-kiosk.service", 2.6)])
def test_units_are_hardened(tmp_path, unit, most):
    units = rendered_units(tmp_path)
    verify = subprocess.run(["systemd-analyze", "verify", str(units / unit)],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    score = exposure(units / unit)
    assert score <= most, f"{unit}: exposure {score} > {most}"
    text = (units / unit).read_text()
    for needed in ("ProtectKernelTunables=yes", "ProtectKernelLogs=yes", "ProtectKernelModules=yes",
                   "ProtectProc=invisible", "SystemCallArchitectures=native", "RestrictRealtime=yes",
                   "LockPersonality=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                   "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "UMask=0",
                   "SystemCallErrorNumber=EPERM"):
        assert needed in text, f"{unit}: {needed!r}"
    # libmpv (Mesa) and Chromium (V8) write code at run time
    assert "MemoryDenyWriteExecute" not in re.sub(r"#.*", "", text)
    if unit == "rigd.service":
        assert "UMask=0027" in text and "\nSystemCallFilter=@system-service\n" in text
        assert "RestrictNamespaces=yes" in text
        assert "SystemCallFilter=landlock_create_ruleset landlock_add_rule landlock_restrict_self" \
            in text                                      # or the probe's jail fails with EPERM
        assert "ProcSubset" not in re.sub(r"#.*", "", text)     # psutil reads /proc/meminfo, /proc/stat
    else:
        assert "RestrictNamespaces=user pid net" in text          # Chromium's own sandbox
        assert "--no-sandbox" not in (REPO / "systemd/rigd-kiosk").read_text()


def test_polkit_gives_the_daemon_power_off_and_nothing_else(tmp_path):
    stage, _ = staged(tmp_path)
    rules = (stage / "etc/polkit-1/rules.d/50-mdu-rig.rules").read_text()
    assert "org.freedesktop.login1.power-off" in rules
    assert "reboot" not in re.sub(r"//.*", "", rules)


def boot(tmp_path) -> Path:
    d = tmp_path / "boot"
    d.mkdir(parents=True)
    for name in ("config.txt", "cmdline.txt"):
        shutil.copy(FIXTURES / name, d / name)
    return d


def run_installer(boot_dir, *args):
    return subprocess.run([str(INSTALL), "--boot-dir", str(boot_dir), *args],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_firmware_installer_on_a_stock_pi4(tmp_path):
    d = boot(tmp_path)
    result = run_installer(d, "--model", "pi4", "--shutdown-button", "3", "--yes")
    assert result.returncode == 0, result.stderr
    assert "+dtparam=watchdog=on" in result.stdout          # the diff was shown
    config = (d / "config.txt").read_text()
    for line in ("dtparam=watchdog=on", "camera_auto_detect=1", "dtparam=i2c_arm=on",
                 "enable_uart=1", "dtoverlay=disable-bt",
                 "dtoverlay=gpio-shutdown,gpio_pin=3,active_low=1,gpio_pull=up"):
        assert line in config.splitlines(), line
    assert config.startswith((FIXTURES / "config.txt").read_text().rstrip("\n"))   # stock kept
    cmdline = (d / "cmdline.txt").read_text()
    assert "console=serial0" not in cmdline and "console=tty1" in cmdline
    assert "video=HDMI-A-1:1920x1080M@60D" in cmdline and "vc4.force_hotplug=1" in cmdline
    assert len(cmdline.splitlines()) == 1
    backups = sorted(p.name for p in d.iterdir() if ".mdu-rig-" in p.name)
    assert len(backups) == 2 and backups[0].startswith("cmdline.txt.mdu-rig-")
    assert (d / backups[1]).read_text() == (FIXTURES / "config.txt").read_text()

    again = run_installer(d, "--model", "pi4", "--shutdown-button", "3", "--yes")
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert (d / "config.txt").read_text() == config and (d / "cmdline.txt").read_text() == cmdline
    assert len([p for p in d.iterdir() if ".mdu-rig-" in p.name]) == 2, "no new backup"


def test_pi5_differs_where_it_must(tmp_path):
    d4, d5 = boot(tmp_path / "4"), boot(tmp_path / "5")
    assert run_installer(d4, "--model", "pi4", "--yes").returncode == 0
    assert run_installer(d5, "--model", "pi5", "--yes").returncode == 0
    c4, c5 = (d4 / "config.txt").read_text().splitlines(), (d5 / "config.txt").read_text().splitlines()
    assert "dtparam=uart0=on" in c5 and "enable_uart=1" not in c5 and "dtoverlay=disable-bt" not in c5
    assert "enable_uart=1" in c4 and "dtparam=uart0=on" not in c4
    assert "vc4.force_hotplug=1" not in (d5 / "cmdline.txt").read_text()


def test_a_battery_clock_keeps_the_date_through_cuts(tmp_path):
    d4, d5, bad = boot(tmp_path / "4"), boot(tmp_path / "5"), boot(tmp_path / "bad")
    assert run_installer(d4, "--model", "pi4", "--rtc", "ds3231", "--yes").returncode == 0
    assert "dtoverlay=i2c-rtc,ds3231" in (d4 / "config.txt").read_text().splitlines()
    assert run_installer(d5, "--model", "pi5", "--rtc", "pi5-battery", "--yes").returncode == 0
    assert "dtparam=rtc_bbat_vchg=3000000" in (d5 / "config.txt").read_text().splitlines()
    refused = run_installer(bad, "--model", "pi4", "--rtc", "pi5-battery", "--yes")
    assert refused.returncode == 2 and "--rtc ds3231" in refused.stderr
    assert (bad / "config.txt").read_text() == (FIXTURES / "config.txt").read_text()


def test_firmware_installer_asks_before_writing(tmp_path):
    d = boot(tmp_path)
    result = run_installer(d, "--model", "pi4")          # no --yes, no terminal
    assert result.returncode == 1 and "not applied" in result.stderr
    assert (d / "config.txt").read_text() == (FIXTURES / "config.txt").read_text()
    assert not [p for p in d.iterdir() if ".mdu-rig-" in p.name]


def test_sample_config_passes_rigctl_config_check():
    result = subprocess.run([str(BIN / "rigctl"), "config", "check", str(REPO / "rig.sample.toml")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_watchdog_pings_at_half_the_interval_and_stop_when_the_loop_hangs(rig_process, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(5)
    rig = rig_process(env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000",
                           "RIGD_DEBUG_HANG_SIGNAL": "1"}, start=False)
    rig.start(wait=False)
    pings = []
    while len(pings) < 5:
        msg = sock.recv(4096).decode()
        if "WATCHDOG=1" in msg:
            pings.append(time.monotonic())
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(0.8 <= g <= 1.25 for g in gaps), gaps            # ~half of 2 s
    rig.proc.send_signal(signal.SIGUSR2)                       # the main loop hangs
    hung_at = time.monotonic()
    sock.settimeout(0.2)
    late = []
    while time.monotonic() - hung_at < 3.0:
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            continue
        if "WATCHDOG=1" in msg:
            late.append(time.monotonic() - hung_at)
    assert all(t < 1.3 for t in late), f"pings after the hang: {late}"
    sock.close()

