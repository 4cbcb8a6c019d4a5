"""The SD card's installer (firmware_config/storage) in a staged tree: the data partition or
USB SSD in fstab, the rig's files moved onto it, the read-only root, the check."""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from appliance import layout

from .helpers import REPO

FIXTURES = Path(__file__).parent / "fixtures" / "bookworm"
INSTALL = REPO / "firmware_config" / "install"


STORAGE = REPO / "firmware_config" / "storage"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pi_tree(tmp_path) -> Path:
    """A Raspberry Pi OS card as `make install` leaves it: stock fstab and cmdline, the rig's
    config and data on the root."""
    root = tmp_path / "pi"
    for folder in ("etc/mdu-rig", "var/lib/mdu-rig/recordings/2026-03-12_didieni_a3f9c1",
                   "boot/firmware"):
        (root / folder).mkdir(parents=True)
    shutil.copy(FIXTURES / "fstab", root / "etc/fstab")
    for name in ("cmdline.txt", "config.txt"):
        shutil.copy(FIXTURES / name, root / "boot/firmware" / name)
    (root / "etc/mdu-rig/rig.toml").write_text('[web]\npin = "428519"\n')
    (root / "etc/mdu-rig/rig.toml").chmod(0o640)
    (root / "var/lib/mdu-rig/rig.sqlite3").write_bytes(b"the rig's history")
    (root / "var/lib/mdu-rig/recordings/2026-03-12_didieni_a3f9c1/debate.mkv").write_bytes(b"a debate")
    return root


def storage(root, *args, mounts=None):
    extra = ["--mounts", str(mounts)] if mounts else []
    return subprocess.run([str(STORAGE), "--root", str(root), *extra, *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_storage_installer_puts_the_data_on_its_partition_in_a_staged_tree(tmp_path):
    before = {p: Path(p).exists() for p in ("/srv/mdu-data", "/srv/mdu-recordings")}
    real_fstab = Path("/etc/fstab").read_bytes() if Path("/etc/fstab").exists() else None
    root = pi_tree(tmp_path)
    result = storage(root, "--data", "LABEL=RIGDATA", "--yes")
    assert result.returncode == 0, result.stderr
    assert "on the Pi: blkid -t LABEL=RIGDATA" in result.stdout      # Pi-only steps: printed
    fstab = (root / "etc/fstab").read_text()
    assert fstab.startswith((FIXTURES / "fstab").read_text())         # stock lines kept
    table = {m.point: m for m in layout.parse_table(fstab)}
    data = table["/srv/mdu-data"]
    assert (data.source, data.fstype) == ("LABEL=RIGDATA", "ext4")
    assert {"noatime", "errors=remount-ro", "nofail", "x-systemd.device-timeout=10s",
            "x-systemd.before=rigd.service"} <= set(data.options)
    for target, source in (("/var/lib/mdu-rig", "/srv/mdu-data/lib"),
                           ("/etc/mdu-rig", "/srv/mdu-data/etc")):
        assert table[target].source == source and {"bind", "nofail"} <= set(table[target].options)
    assert re.search(r"^LABEL=RIGDATA .* 0\s+2$", fstab, re.M), "fsck at boot"
    assert "errors=remount-ro  a damaged filesystem" in fstab          # the options say why
    partition = root / "srv/mdu-data"
    assert (partition / "lib/rig.sqlite3").read_bytes() == b"the rig's history"
    assert (partition / "lib/recordings/2026-03-12_didieni_a3f9c1/debate.mkv").exists()
    assert (partition / "etc/rig.toml").read_text() == '[web]\npin = "428519"\n'
    assert mode(partition / "etc/rig.toml") == 0o640
    assert mode(partition / "lib") == 0o750 and mode(partition / "etc") == 0o750
    assert (root / "etc/mdu-rig/rig.toml").exists(), "the card's copy stays, for a missing disk"
    assert len(list((root / "etc").glob("fstab.mdu-rig-*.bak"))) == 1

    again = storage(root, "--data", "LABEL=RIGDATA", "--yes")        # changes nothing
    assert again.returncode == 0 and "already as asked" in again.stdout
    assert (root / "etc/fstab").read_text() == fstab
    assert "holds the rig's files already" in again.stdout
    assert len(list((root / "etc").glob("fstab.mdu-rig-*.bak"))) == 1
    assert {p: Path(p).exists() for p in before} == before, "the real system was touched"
    assert (Path("/etc/fstab").read_bytes() if real_fstab is not None else None) == real_fstab


def test_the_fstab_block_means_to_systemd_what_its_comments_say(tmp_path):
    """Read by systemd's own fstab generator: a missing disk never holds the boot, rigd
    waits for the mounts to be tried, a USB disk is waited for 10 s, fsck runs first."""
    generator = Path("/usr/lib/systemd/system-generators/systemd-fstab-generator")
    if not generator.exists():
        pytest.skip("no systemd-fstab-generator here")
    root = pi_tree(tmp_path)
    assert storage(root, "--data", "LABEL=RIGDATA", "--recordings", "LABEL=RIGREC",
                   "--yes").returncode == 0
    out = tmp_path / "units"
    out.mkdir()
    result = subprocess.run([str(generator), str(out), str(out), str(out)], capture_output=True,
                            text=True, env={**os.environ, "SYSTEMD_FSTAB": str(root / "etc/fstab")})
    assert result.returncode == 0, result.stderr
    units = {"srv-mdu\\x2ddata.mount", "srv-mdu\\x2drecordings.mount", "var-lib-mdu\\x2drig.mount",
             "etc-mdu\\x2drig.mount"}
    wanted = {p.name for p in (out / "local-fs.target.wants").iterdir()}
    required = {p.name for p in out.glob("local-fs.target.requires/*")}
    assert units <= wanted and not units & required, "nofail: wanted by the boot, not required"
    for name in units:
        unit = (out / name).read_text()
        assert "Before=rigd.service" in unit, name
    data = (out / "srv-mdu\\x2ddata.mount").read_text()
    assert "Requires=systemd-fsck@dev-disk-by\\x2dlabel-RIGDATA.service" in data
    for bind in ("var-lib-mdu\\x2drig.mount", "etc-mdu\\x2drig.mount"):
        assert "RequiresMountsFor=/srv/mdu-data" in (out / bind).read_text()
    timeout = (out / "dev-disk-by\\x2dlabel-RIGDATA.device.d/50-device-timeout.conf").read_text()
    assert "JobRunningTimeoutSec=10s" in timeout


def test_the_overlay_waits_for_the_data_partition_and_spares_it(tmp_path):
    root = pi_tree(tmp_path)
    cmdline = root / "boot/firmware/cmdline.txt"
    stock = cmdline.read_text()
    refused = storage(root, "--overlay", "on", "--yes")
    assert refused.returncode == 2 and "Run --data first" in refused.stderr
    assert cmdline.read_text() == stock

    assert storage(root, "--data", "LABEL=RIGDATA", "--yes").returncode == 0
    # what raspi-config nonint do_overlayfs 0 writes, recurse and all: replaced
    cmdline.write_text("overlayroot=tmpfs " + stock)
    result = storage(root, "--overlay", "on", "--yes")
    assert result.returncode == 0, result.stderr
    assert "on the Pi: raspi-config nonint do_overlayfs 0" in result.stdout
    words = cmdline.read_text().split()
    assert words[0] == "overlayroot=tmpfs:recurse=0" and words[1:] == stock.split()
    assert [w for w in words if w.startswith("overlayroot=")] == ["overlayroot=tmpfs:recurse=0"]
    assert len(cmdline.read_text().splitlines()) == 1
    assert storage(root, "--overlay", "on", "--yes").stdout.count("already") == 1

    # the firmware installer, run after, leaves it alone
    assert subprocess.run([str(INSTALL), "--boot-dir", str(root / "boot/firmware"), "--model",
                           "pi4", "--yes"], capture_output=True, timeout=30).returncode == 0
    assert cmdline.read_text().split()[0] == "overlayroot=tmpfs:recurse=0"

    off = storage(root, "--overlay", "off", "--yes")
    assert off.returncode == 0 and "overlayroot" not in cmdline.read_text()


PI_MOUNTS = """\
/dev/mmcblk0p2 /media/root-ro ext4 ro,noatime 0 0
tmpfs-root /media/root-rw tmpfs rw,relatime 0 0
overlayroot / overlay rw,relatime,lowerdir=/media/root-ro,upperdir=/media/root-rw/overlay,workdir=/media/root-rw/overlay-workdir 0 0
/dev/mmcblk0p1 /boot/firmware vfat ro,relatime 0 0
"""
DATA_MOUNTS = """\
/dev/sda1 /srv/mdu-data ext4 rw,noatime,errors=remount-ro 0 0
/dev/sda1 /var/lib/mdu-rig ext4 rw,noatime,errors=remount-ro 0 0
/dev/sda1 /etc/mdu-rig ext4 rw,noatime,errors=remount-ro 0 0
"""


def test_no_fstab_change_under_the_overlay_and_the_check_finds_a_missing_disk(tmp_path):
    root = pi_tree(tmp_path)
    overlaid = tmp_path / "mounts-overlay"
    overlaid.write_text(PI_MOUNTS)
    refused = storage(root, "--data", "LABEL=RIGDATA", "--yes", mounts=overlaid)
    assert refused.returncode == 2
    assert "would vanish" in refused.stderr and "--overlay off" in refused.stderr
    assert (root / "etc/fstab").read_text() == (FIXTURES / "fstab").read_text()

    assert storage(root, "--data", "LABEL=RIGDATA", "--yes").returncode == 0
    (root / "boot/firmware/cmdline.txt").write_text("overlayroot=tmpfs:recurse=0 console=tty1\n")
    whole = tmp_path / "mounts-whole"
    whole.write_text(PI_MOUNTS + DATA_MOUNTS)
    check = storage(root, "--check", mounts=whole)
    assert check.returncode == 0, check.stdout
    assert "OVERLAY   on:" in check.stdout and "DATA      /var/lib/mdu-rig on /dev/sda1" in check.stdout
    check = storage(root, "--check", mounts=overlaid)          # the USB SSD did not come up
    assert check.returncode == 1
    assert "✗ DATA      /var/lib/mdu-rig belongs on /srv/mdu-data/lib" in check.stdout
    assert "not mounted" in check.stdout and "sudo mount /var/lib/mdu-rig" in check.stdout


def test_recordings_disk_and_its_config_line(tmp_path):
    root = pi_tree(tmp_path)
    result = storage(root, "--recordings", "LABEL=RIGREC", "--yes")
    assert result.returncode == 0, result.stderr
    line = next(l for l in (root / "etc/fstab").read_text().splitlines() if "LABEL=RIGREC" in l)
    assert line.split()[1] == "/srv/mdu-recordings" and "nofail" in line
    assert (root / "srv/mdu-recordings/recordings").is_dir()
    assert 'recordings_dir = "/srv/mdu-recordings/recordings"' in result.stdout
    assert storage(root, "--data", "/dev/sda1", "--yes").returncode == 2     # never a /dev name


def test_storage_installer_asks_before_writing(tmp_path):
    root = pi_tree(tmp_path)
    result = storage(root, "--data", "LABEL=RIGDATA")             # no --yes, no terminal
    assert result.returncode == 1 and "not applied" in result.stderr
    assert (root / "etc/fstab").read_text() == (FIXTURES / "fstab").read_text()
    assert not (root / "srv").exists()
