import subprocess

import pytest

from appliance.devices.profiles import PROFILES
from appliance.sim import SimulatedGenerator

from .helpers import RigProcess


@pytest.fixture
def sim_generator(tmp_path):
    """A factory of simulated generators (real pymodbus slaves on pty pairs)."""
    made = []

    def make(profile="pzem004t", **kw):
        kw.setdefault("rated_power_w", 3000)
        kw.setdefault("seed", 1)
        gen = SimulatedGenerator(tmp_path / f"sim-{len(made)}", PROFILES[profile], **kw).start()
        made.append(gen)
        return gen

    yield make
    for gen in made:
        gen.stop()


@pytest.fixture
def rig_process(tmp_path):
    """A factory of real rigd processes; all are stopped at the end of the test."""
    made = []

    def make(config=None, start=True, env=None, name="rig"):
        rig = RigProcess(tmp_path / f"{name}-{len(made)}", config, env)
        made.append(rig)
        return rig.start() if start else rig

    yield make
    for rig in made:
        rig.stop()


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Small films made with ffmpeg at test time (never committed)."""
    from appliance.sim.media import make_film
    d = tmp_path_factory.mktemp("media")
    made = {
        "film": make_film(d / "film.mkv", seconds=6, audio=[("bam", 440), ("fra", 880)],
                          subtitles="fra"),
        "long": make_film(d / "long.mkv", seconds=30, audio=[("bam", 440), ("fra", 880)],
                          subtitles="fra"),
        "extract": make_film(d / "extract.mkv", seconds=2, audio=[("fra", 660)], subtitles=None),
    }
    broken = d / "broken.mkv"
    broken.write_bytes(b"\x1aE\xdf\xa3" + b"not a film " * 500)
    made["broken"] = broken
    return made


@pytest.fixture(scope="session")
def pulse():
    """A private PulseAudio server with a null sink named "cinema"."""
    from .audio import PulseAudio
    server = PulseAudio()
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser; no background traffic."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--no-first-run", "--disable-sync"]}


@pytest.fixture
def usb_disk(tmp_path):
    """A real ext4 disk (an image on a loop device), mounted as a USB SSD would be."""
    image, mount = tmp_path / "usb.img", tmp_path / "usb"
    mount.mkdir()
    subprocess.run(["truncate", "-s", "96M", str(image)], check=True)
    made = subprocess.run(["mkfs.ext4", "-q", "-L", "RIGTEST", str(image)], capture_output=True)
    done = made.returncode == 0 and subprocess.run(
        ["mount", "-o", "loop,noatime", str(image), str(mount)], capture_output=True).returncode == 0
    if not done:
        pytest.skip("no loop device here (needs root and /dev/loop*)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)
