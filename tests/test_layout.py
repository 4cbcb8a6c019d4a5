"""The storage layout as `rigctl doctor` reports it: the root's overlay, where the data and the
recordings live, and what to do when that is wrong. Mount tables are texts here, as on a Pi."""

import os
import subprocess

import pytest

from appliance import layout

from .helpers import BIN

CMDLINE = "console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait"


def pi_mounts(data_point: str, options: str = "rw,noatime,errors=remount-ro",
              overlay: bool = True) -> list[layout.Mount]:
    """/proc/mounts of a Pi: overlayroot's root, the data partition and its two binds."""
    root = ("/dev/mmcblk0p2 /media/root-ro ext4 ro,relatime 0 0\n"
            "tmpfs-root /media/root-rw tmpfs rw,relatime 0 0\n"
            "overlayroot / overlay rw,relatime,lowerdir=/media/root-ro,"
            "upperdir=/media/root-rw/overlay,workdir=/media/root-rw/overlay-workdir 0 0\n"
            if overlay else "/dev/mmcblk0p2 / ext4 rw,noatime 0 0\n")
    return layout.parse_table(
        root + "/dev/mmcblk0p1 /boot/firmware vfat rw,relatime,fmask=0022 0 0\n"
        f"/dev/sda1 {data_point} ext4 {options} 0 0\n"
        f"/dev/sda1 {data_point}/data ext4 {options} 0 0\n")


def fstab(data_point: str, options: str = "defaults,noatime,errors=remount-ro,nofail") -> list:
    return layout.parse_table(
        "PARTUUID=4e639091-01  /boot/firmware  vfat  defaults  0  2\n"
        "PARTUUID=4e639091-02  /  ext4  defaults,noatime  0  1\n"
        f"LABEL=RIGDATA  {data_point}  ext4  {options}  0  2\n"
        f"{data_point}/lib  {data_point}/data  none  bind,nofail  0  0\n")


@pytest.fixture
def disk(tmp_path):
    """Where the data partition is mounted in these tables (a real folder: free space is read)."""
    (tmp_path / "data").mkdir()
    return str(tmp_path)


def test_the_overlay_root_is_recognised_and_a_containers_is_not():
    ok, line = layout.check_root(pi_mounts("/srv/mdu-data"), f"overlayroot=tmpfs:recurse=0 {CMDLINE}")
    assert ok and line.startswith("OVERLAY   on:") and "--overlay off" in line
    container = layout.parse_table("overlay / overlay rw,lowerdir=/var/lib/docker/overlay2/l/A,"
                                   "upperdir=/var/lib/docker/overlay2/x/diff,workdir=/w 0 0\n")
    ok, line = layout.check_root(container, CMDLINE)
    assert ok and line.startswith("OVERLAY   off:") and "--overlay on" in line
    ok, line = layout.check_root(pi_mounts("/srv/mdu-data", overlay=False),
                                 f"overlayroot=tmpfs:recurse=0 {CMDLINE}")
    assert ok and "next boot" in line


def test_raspi_configs_own_spelling_would_put_the_data_in_memory_too():
    """overlayroot=tmpfs overlays every fstab mount (recurse defaults to 1)."""
    ok, line = layout.check_root(pi_mounts("/srv/mdu-data"), f"overlayroot=tmpfs {CMDLINE}")
    assert not ok and "recurse=0" in line and "--overlay on" in line
    assert layout.overlay_recurses("overlayroot=tmpfs")
    assert layout.overlay_recurses("overlayroot=tmpfs:swap=1")
    assert not layout.overlay_recurses("overlayroot=tmpfs:recurse=0")
    assert not layout.overlay_recurses("overlayroot=tmpfs:swap=1,recurse=0")
    assert not layout.overlay_recurses("overlayroot=disabled") and not layout.overlay_recurses(None)


def test_data_on_its_own_disk_is_reported_with_its_options_and_free_space(disk):
    ok, line = layout.check_place("data", f"{disk}/data", pi_mounts(disk), fstab(disk))
    assert ok, line
    assert line.startswith(f"DATA      {disk}/data on /dev/sda1, ext4 (")
    assert "noatime" in line and "errors=remount-ro" in line and "GB free of" in line


def test_a_data_disk_fstab_promises_but_that_is_not_mounted(disk):
    mounts = [m for m in pi_mounts(disk) if m.source != "/dev/sda1"]
    ok, line = layout.check_place("data", f"{disk}/data", mounts, fstab(disk))
    assert not ok
    assert f"belongs on {disk}/lib" in line and "not mounted" in line
    assert f"sudo mount {disk}/data" in line and "fsck" in line


def test_data_on_the_overlay_root_is_in_memory(disk):
    mounts = [m for m in pi_mounts(disk) if m.source != "/dev/sda1"]
    ok, line = layout.check_place("data", f"{disk}/data", mounts, [])
    assert not ok and "in memory, lost at power-off" in line and "--data LABEL=RIGDATA" in line


def test_a_data_disk_gone_read_only_after_an_error(disk):
    mounts = pi_mounts(disk, options="ro,noatime,errors=remount-ro")
    ok, line = layout.check_place("data", f"{disk}/data", mounts, fstab(disk))
    assert not ok and "read-only" in line and "sudo fsck -y /dev/sda1" in line


def test_a_disk_without_nofail_would_stop_the_boot(disk):
    ok, line = layout.check_place("data", f"{disk}/data", pi_mounts(disk),
                                  fstab(disk, options="defaults,noatime"))
    assert not ok and "nofail" in line and "stops the Pi from booting" in line


def test_recordings_missing_or_nearly_full(disk):
    ok, line = layout.check_place("recordings", f"{disk}/usb/recordings", pi_mounts(disk), [],
                                  must_exist=True)
    assert not ok and line.startswith("RECORDINGS ") and "does not exist" in line
    ok, line = layout.check_place("recordings", f"{disk}/data", pi_mounts(disk), [],
                                  min_free_mb=10**12)
    assert not ok and "min_free_mb" in line and "rigctl prune" in line


def test_a_database_set_aside_is_reported_until_it_is_dealt_with(tmp_path):
    assert layout.check_damaged(tmp_path)[0]
    aside = tmp_path / "rig.sqlite3.damaged-20261126T024012"
    aside.write_bytes(b"x")
    (tmp_path / "rig.sqlite3.damaged-20261126T024012-wal").write_bytes(b"x")
    ok, line = layout.check_damaged(tmp_path)
    assert not ok and line.count(str(aside)) == 1 and ".recover" in line


def test_doctor_reports_the_layout_and_flags_a_read_only_data_disk(tmp_path, usb_disk):
    (usb_disk / "data").mkdir(mode=0o750)
    config = tmp_path / "rig.toml"
    config.write_text(f'[storage]\ndata_dir = "{usb_disk / "data"}"\n\n'
                      f'[recording]\nmin_free_mb = 10\n')
    config.chmod(0o640)
    env = {**os.environ, "COLUMNS": "400"}
    run = lambda: subprocess.run([str(BIN / "rigctl"), "doctor", "--no-daemon", "--config", str(config)],
                                 capture_output=True, text=True, timeout=30, env=env)
    result = run()
    assert result.returncode == 0, result.stdout
    shown = [line.strip()[2:] for line in result.stdout.splitlines() if line.strip()[:1] in "✓–"]
    assert any(line.startswith("overlay ") for line in shown), shown
    data = next(line for line in shown if line.startswith("data "))
    assert f"{usb_disk / 'data'} on /dev/loop" in data and f"(mounted on {usb_disk})" in data
    assert "ext4 (rw,noatime" in data
    subprocess.run(["mount", "-o", "remount,ro", str(usb_disk)], check=True)
    result = run()
    assert result.returncode == 1
    flagged = "\n".join(line for line in result.stdout.splitlines() if line.strip().startswith("✗"))
    assert "read-only" in flagged and "fsck -y /dev/loop" in flagged
