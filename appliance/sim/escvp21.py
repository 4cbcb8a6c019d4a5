"""A simulated Epson projector on RS-232 (ESC/VP21), at the far end of a pty pair.

    >>> peer = SimulatedEscVp21("/tmp/rig").start()
    >>> peer.port_path           # the rig's end: what [projector] port would say
    >>> peer.scenario = "fan-error"
    >>> peer.link.unplug()       # the USB-serial adapter is pulled: the port vanishes

The projector is the same :class:`~.projector.ProjectorModel` as the PJLink
peer's (warm-up, cool-down, lamp hours, mains). It speaks ESC/VP21 as
Epson documents it: 9600 8N1, a command ends with CR, the reply (if any)
ends with CR and then the ``:`` prompt; a bare CR is answered with ``:``.

``PWR?`` -> ``PWR=00`` standby, ``01`` on, ``02`` warm-up, ``03`` cooling;
``PWR ON`` / ``PWR OFF`` -> ``:`` or ``ERR`` when the projector cannot now
(on while cooling, off while warming up); ``LAMP?`` -> ``LAMP=1234``;
``ERR?`` -> ``ERR=00`` (``01``: fan error). Anything else -> ``ERR``.
Without mains the projector is silent.
"""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

import serial

from .link import SerialLink
from .projector_model import ProjectorModel

log = logging.getLogger(__name__)

SCENARIOS = {
    "normal": "a healthy projector",
    "fan-error": "the fan has failed: ERR? answers 01; power is unchanged",
    "unplug": "the RS-232 cable is pulled at the projector: no answer at all",
    "garbage": "answers nonsense instead of ESC/VP21",
}

PWR_CODES = {"standby": "00", "on": "01", "warming": "02", "cooling": "03"}


class SimulatedEscVp21:
    def __init__(self, directory, *, warmup_s: float = 15.0, cooldown_s: float = 20.0,
                 lamp_hours: int = 1200, mains=None, clock=None, scenario: str = "normal",
                 port_name: str = "projector", seed: int | None = None):
        self.link = SerialLink(Path(directory), meter_name=f"{port_name}-peer",
                               port_name=port_name)
        self.model = ProjectorModel(warmup_s=warmup_s, cooldown_s=cooldown_s,
                                    lamp_hours=lamp_hours, mains=mains, clock=clock,
                                    scenario=scenario, scenarios=SCENARIOS)
        self.requests = 0
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._serial: serial.Serial | None = None
        self._thread = threading.Thread(target=self._serve, name="sim-escvp21", daemon=True)

    @property
    def port_path(self) -> str:
        return str(self.link.port_path)

    @property
    def power(self) -> str:
        return self.model.state

    @property
    def scenario(self) -> str:
        return self.model.scenario

    @scenario.setter
    def scenario(self, name: str) -> None:
        self.model.scenario = name

    def start(self) -> "SimulatedEscVp21":
        self.link.start()
        self._serial = serial.Serial(str(self.link.meter_path), baudrate=9600, timeout=0.05)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=3)
        if self._serial is not None:
            self._serial.close()
        self.link.close()

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            try:
                data = self._serial.read(1)          # waits at most the 50 ms timeout
                if data:
                    data += self._serial.read(self._serial.in_waiting)
            except (serial.SerialException, OSError):
                if self._stop.wait(0.05):
                    return
                continue
            buffer += data
            while b"\r" in buffer:
                line, _, buffer = buffer.partition(b"\r")
                reply = self._answer(line.decode("ascii", "replace").strip())
                if reply is not None:
                    try:
                        self._serial.write(reply)
                    except (serial.SerialException, OSError):
                        pass
            if len(buffer) > 256:
                buffer = b""

    def _answer(self, command: str) -> bytes | None:
        if self.model.state == "off" or self.model.scenario == "unplug":
            return None                                  # silence
        self.requests += 1
        if self.model.scenario == "garbage":
            return bytes(self._rng.randrange(128, 256) for _ in range(6)) + b"\r:"
        if not command:
            return b":"
        model = self.model
        if command == "PWR?":
            text = "PWR=" + PWR_CODES[model.state]
        elif command in ("PWR ON", "PWR OFF"):
            text = "" if model.power(command == "PWR ON") else "ERR"
        elif command == "LAMP?":
            text = f"LAMP={model.lamp_hours}"
        elif command == "ERR?":
            text = "ERR=01" if model.scenario == "fan-error" else "ERR=00"
        else:
            text = "ERR"
        return (text + "\r:").encode("ascii") if text else b":"


__all__ = ["PWR_CODES", "SCENARIOS", "SimulatedEscVp21"]
