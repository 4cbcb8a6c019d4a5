"""What stands in for the generator on a laptop or in CI.

    >>> gen = SimulatedGenerator("/tmp/rig", PROFILES["pzem004t"], rated_power_w=3000)
    >>> gen.start()
    >>> gen.port_path          # the rig's meter code reads this, exactly as on a Pi
    >>> gen.scenario = "failure"

A real Modbus RTU slave (pymodbus) on one end of a pseudo-terminal pair;
the rig reads the other end through its normal meter code.
"""

from __future__ import annotations

from pathlib import Path

from .model import SCENARIOS, GeneratorModel, Load

__all__ = ["SCENARIOS", "GeneratorModel", "Load", "SimulatedGenerator"]


class SimulatedGenerator:
    def __init__(self, directory, profile, *, rated_power_w: float, address: int = 1,
                 baudrate: int | None = None, parity: str = "N", stopbits: int = 1,
                 scenario: str = "steady", base_load_w: float = 60.0, seed: int = 0,
                 load=None, clock=None):
        from .link import SerialLink
        from .slave import SimulatedMeter

        self.link = SerialLink(Path(directory))
        self.model = GeneratorModel(rated_power_w=rated_power_w, load=load,
                                    base_load_w=base_load_w, scenario=scenario,
                                    seed=seed, clock=clock)
        self.meter = SimulatedMeter(self.link.meter_path, profile, self.model,
                                    address=address, baudrate=baudrate, parity=parity,
                                    stopbits=stopbits)

    @classmethod
    def from_config(cls, config, directory, load=None, clock=None) -> "SimulatedGenerator":
        from ..devices.profiles import PROFILES
        gen, sim = config.generator, config.sim
        return cls(directory, PROFILES[gen.profile], rated_power_w=gen.rated_power_w,
                   address=gen.address, baudrate=gen.baudrate, parity=gen.parity,
                   stopbits=gen.stopbits, scenario=sim.scenario,
                   base_load_w=sim.base_load_w, seed=sim.seed, load=load, clock=clock)

    @property
    def port_path(self) -> str:
        return str(self.link.port_path)

    @property
    def scenario(self) -> str:
        return self.meter.scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        self.meter.scenario = name

    def start(self) -> "SimulatedGenerator":
        self.link.start()
        self.meter.start()
        return self

    def stop(self) -> None:
        self.meter.stop()
        self.link.close()
