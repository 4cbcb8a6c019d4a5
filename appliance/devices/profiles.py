"""Register maps of generator meters and controllers, as data.

A :class:`Profile` says which registers to read (``blocks``) with which
Modbus function, and how each quantity is laid out in them (``fields``). The
same profile decodes what a meter sends and encodes what the simulated
meter serves, so the two can never disagree about a layout.

    >>> values = PROFILES["pzem004t"].decode({0: 2245, 1: 108, 2: 0, ...})
    >>> values["voltage_v"]
    224.5

Sources: the PZEM-004T v3.0 manual, Eastron's SDM120 register list, Deep Sea
Electronics' GenComm.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: Quantities every profile may provide; the rest go to "extra".
CORE = ("voltage_v", "current_a", "power_w", "frequency_hz", "energy_wh", "power_factor")


@dataclass(frozen=True)
class Field:
    """One quantity: where it is, how it is coded, and its unit scale."""

    name: str
    address: int
    kind: str = "u16"          # u16 | s16 | u32 | s32 | f32
    scale: float = 1.0         # value = raw * scale
    low_word_first: bool = False
    #: GenComm reports "not available" as -1..-8 (the top of the unsigned range)
    not_available: bool = False

    @property
    def width(self) -> int:
        return 1 if self.kind in ("u16", "s16") else 2

    def decode(self, registers: dict[int, int]) -> float | int | None:
        words = [registers[self.address + i] for i in range(self.width)]
        if self.low_word_first:
            words.reverse()
        data = struct.pack(f">{len(words)}H", *words)
        raw = struct.unpack(_STRUCT[self.kind], data)[0]
        if self.not_available and _is_sentinel(raw, self.kind):
            return None
        if self.kind == "f32":
            # float32 carries ~7 significant digits; don't pretend to more
            return float(f"{raw * self.scale:.7g}")
        return raw if self.scale == 1 else round(raw * self.scale, 6)

    def encode(self, value: float | None) -> dict[int, int]:
        if value is None:
            raw = {"u16": 0xFFFF, "s16": -1, "u32": 0xFFFFFFFF, "s32": -1, "f32": float("nan")}[self.kind]
        elif self.kind == "f32":
            raw = value / self.scale
        else:
            raw = int(round(value / self.scale))
            lo, hi = _RANGE[self.kind]
            raw = max(lo, min(hi, raw))
        words = list(struct.unpack(f">{self.width}H", struct.pack(_STRUCT[self.kind], raw)))
        if self.low_word_first:
            words.reverse()
        return {self.address + i: w for i, w in enumerate(words)}


_STRUCT = {"u16": ">H", "s16": ">h", "u32": ">I", "s32": ">i", "f32": ">f"}
_RANGE = {"u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF),
          "u32": (0, 0xFFFFFFFF), "s32": (-0x80000000, 0x7FFFFFFF)}


def _is_sentinel(raw, kind: str) -> bool:
    if kind in ("s16", "s32"):
        return -8 <= raw <= -1
    top = 0xFFFF if kind == "u16" else 0xFFFFFFFF
    return top - 7 <= raw <= top


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    function: int                       # 3 holding registers, 4 input registers
    blocks: tuple[tuple[int, int], ...]  # (first register, count) read each poll
    fields: tuple[Field, ...]
    default_baudrate: int = 9600
    #: names for coded values, e.g. DSE engine states
    labels: dict | None = None

    def decode(self, registers: dict[int, int]) -> dict:
        values = {f.name: f.decode(registers) for f in self.fields}
        for name, names in (self.labels or {}).items():
            if values.get(name) is not None:
                values[name] = names.get(values[name], f"code {values[name]}")
        return values

    def encode(self, values: dict) -> dict[int, int]:
        registers: dict[int, int] = {}
        for f in self.fields:
            value = values.get(f.name)
            names = (self.labels or {}).get(f.name)
            if names and isinstance(value, str):
                value = {v: k for k, v in names.items()}[value]
            registers.update(f.encode(value))
        return registers

    @property
    def span(self) -> tuple[int, int]:
        """First and last register the profile touches (for the simulated meter)."""
        first = min(start for start, _ in self.blocks)
        last = max(start + count - 1 for start, count in self.blocks)
        return first, last


PZEM004T = Profile(
    name="pzem004t",
    title="Peacefair PZEM-004T v3.0",
    function=4,
    blocks=((0x0000, 10),),
    fields=(
        Field("voltage_v", 0x0000, "u16", 0.1),
        Field("current_a", 0x0001, "u32", 0.001, low_word_first=True),
        Field("power_w", 0x0003, "u32", 0.1, low_word_first=True),
        Field("energy_wh", 0x0005, "u32", 1, low_word_first=True),
        Field("frequency_hz", 0x0007, "u16", 0.1),
        Field("power_factor", 0x0008, "u16", 0.01),
        Field("meter_alarm", 0x0009, "u16"),
    ),
    default_baudrate=9600,
)

SDM120 = Profile(
    name="sdm120",
    title="Eastron SDM120 / SDM230",
    function=4,
    blocks=((0x0000, 14), (0x001E, 2), (0x0046, 4)),
    fields=(
        Field("voltage_v", 0x0000, "f32"),
        Field("current_a", 0x0006, "f32"),
        Field("power_w", 0x000C, "f32"),
        Field("power_factor", 0x001E, "f32"),
        Field("frequency_hz", 0x0046, "f32"),
        Field("energy_wh", 0x0048, "f32", 1000.0),   # import kWh
    ),
    default_baudrate=2400,
)

DSE = Profile(
    name="dse",
    title="Deep Sea Electronics controller (GenComm)",
    function=3,
    blocks=((772, 1), (1027, 19), (1408, 1), (1536, 2), (1798, 4)),
    fields=(
        Field("control_mode", 772, "u16", not_available=True),
        Field("fuel_pct", 1027, "u16", not_available=True),
        Field("battery_v", 1029, "u16", 0.1, not_available=True),
        Field("rpm", 1030, "u16", not_available=True),
        Field("frequency_hz", 1031, "u16", 0.1, not_available=True),
        Field("voltage_v", 1032, "u32", 0.1, not_available=True),
        Field("current_a", 1044, "u32", 0.1, not_available=True),
        Field("engine_state", 1408, "u16", not_available=True),
        Field("power_w", 1536, "s32", 1, not_available=True),
        Field("run_hours", 1798, "u32", 1 / 3600, not_available=True),
        Field("energy_wh", 1800, "u32", 100, not_available=True),   # 0.1 kWh
    ),
    default_baudrate=19200,
    labels={
        "control_mode": {0: "stop", 1: "auto", 2: "manual", 3: "test", 7: "off"},
        "engine_state": {0: "stopped", 3: "running", 4: "cooling"},
    },
)

PROFILES: dict[str, Profile] = {p.name: p for p in (PZEM004T, SDM120, DSE)}
