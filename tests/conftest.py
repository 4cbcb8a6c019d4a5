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
