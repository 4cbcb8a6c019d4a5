"""A simulated meter: a real pymodbus RTU slave serving a profile's registers.

    >>> slave = SimulatedMeter("/tmp/rig/meter", PROFILES["pzem004t"], model)
    >>> slave.start()
    >>> slave.scenario = "failure"        # stops answering, at run time

Registers are filled from the :class:`GeneratorModel` just before each
reply, so every read sees live values. Line faults (silence, noise, a
broken checksum) are made on the bytes pymodbus is about to send.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading

from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ..devices.profiles import Profile
from .model import GeneratorModel

log = logging.getLogger(__name__)

#: pymodbus logs every bad frame it sees at warning level; the rig counts
#: them itself, and in the "garbage" scenario they are the point.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class SimulatedMeter:
    def __init__(self, port: str, profile: Profile, model: GeneratorModel, *,
                 address: int = 1, baudrate: int | None = None, parity: str = "N",
                 stopbits: int = 1):
        self.port = str(port)
        self.profile = profile
        self.model = model
        self.address = address
        self.baudrate = baudrate or profile.default_baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.requests = 0
        self._rng = random.Random(7)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sim-meter", daemon=True)

    @property
    def scenario(self) -> str:
        return self.model.scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        old = self.model.scenario
        self.model.scenario = name
        if name != old:
            log.info("simulated generator: scenario %s -> %s", old, name)

    def start(self, timeout: float = 5.0) -> "SimulatedMeter":
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"simulated meter on {self.port} did not start in {timeout} s")
        if self._error:
            raise RuntimeError(f"simulated meter on {self.port} failed: {self._error}")
        return self

    def stop(self) -> None:
        if self._loop and self._server and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop)
            try:
                fut.result(timeout=3)
            except Exception:
                pass
        self._thread.join(timeout=3)

    # --- inside the server's thread ------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        first, last = self.profile.span
        device = SimDevice(
            id=self.address,
            simdata=[SimData(address=first, count=last - first + 1, values=0,
                             datatype=DataType.REGISTERS)],
            action=self._fill,
        )
        self._server = ModbusSerialServer(
            device, port=self.port, baudrate=self.baudrate, parity=self.parity,
            stopbits=self.stopbits, timeout=1, reconnect_delay=0.2,
            trace_packet=self._line,
        )
        await self._server.serve_forever(background=True)
        self._ready.set()
        await self._server.serving

    async def _fill(self, function_code, start_address, address, count, registers, values):
        self.requests += 1
        image = self.profile.encode(self.model.sample())
        for reg, word in image.items():
            index = reg - start_address
            if 0 <= index < len(registers):
                registers[index] = word
        return None

    def _line(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            return data
        scenario = self.model.scenario
        if scenario == "failure":
            return b""
        if scenario == "garbage":
            return bytes(self._rng.randrange(256) for _ in range(len(data)))
        if scenario == "badcrc" and data:
            return data[:-1] + bytes([data[-1] ^ 0x5A])
        return data
