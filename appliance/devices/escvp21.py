"""An Epson projector's RS-232 link: ESC/VP21, with pyserial.

    >>> projector = EscVp21Projector("/dev/projector")
    >>> projector.poll()            # PWR?, LAMP?, ERR?: a ProjectorState, never raises

9600 8N1; a command ends with CR; the projector answers, then sends ':'.
``PWR=00`` standby, 01 on, 02 warm-up, 03 cooling, 04 standby (network on),
05 abnormal standby. A port that vanishes (USB adapter pulled) is closed and
reopened with a backoff capped at ``backoff_max_s``.
"""

from __future__ import annotations

import logging
import os
import re
import termios

import serial

from .projector import ProjectorState, _Projector

log = logging.getLogger(__name__)


class EscVp21Projector(_Projector):
    """An Epson projector on RS-232, ESC/VP21 (9600 8N1, commands end with CR, replies with ':').

    Written on pyserial: the PyPI package epson-projector targets Home
    Assistant (aiohttp, network) and would bring more than this needs.
    """

    link = "escvp21"

    _POWER = {"00": "standby", "01": "on", "02": "warming", "03": "cooling",
              "04": "standby", "05": "fault"}
    #: ERR? codes (Epson) and the PJLink-style category each belongs to.
    _ERRORS = {"01": "fan", "03": "lamp", "04": "temperature", "06": "lamp", "07": "cover",
               "0C": "filter", "0D": "filter"}

    def __init__(self, port: str, timeout_s: float = 2.0, clock=None, *,
                 backoff_max_s: float = 3.0):
        super().__init__(clock)
        self.port = port
        self.timeout_s = timeout_s
        self.backoff_max_s = backoff_max_s
        self._serial: serial.Serial | None = None
        self._backoff_s = 0.0
        self._next_open_at = 0.0

    def _run(self, on: bool | None) -> ProjectorState:
        if self._serial is None:
            failure = self._open()
            if failure:
                return failure
        try:
            return self._talk(on)
        except _NoAnswer as exc:
            return self._lost("unreachable", exc)
        except _Garbage as exc:
            return self._lost("garbage", exc)
        except (serial.SerialException, OSError, termios.error) as exc:
            self.close()
            self._schedule_reopen()
            reason = "unreachable" if os.path.exists(self.port) else "no_port"
            return self._lost(reason, f"{self.port}: {exc}")
        except Exception as exc:     # never raise
            return self._lost("error", f"{type(exc).__name__}: {exc}")

    def _talk(self, on: bool | None) -> ProjectorState:
        refusal = None
        if on is not None:
            reply = self._ask("PWR ON" if on else "PWR OFF")
            if reply == "ERR":
                refusal = ("refused", f"PWR {'ON' if on else 'OFF'}: ERR")
            elif reply:
                raise _Garbage(f"unexpected reply to PWR: {reply!r}")
        code = self._value("PWR", r"[0-9A-F]{2}")
        power = self._POWER.get(code, "unknown")
        reason, detail = (("error", "abnormal standby (PWR=05)") if power == "fault"
                          else (None, None if code in self._POWER else f"PWR={code}"))
        lamp = self._value("LAMP", r"\d+", optional=True)
        err = self._value("ERR", r"[0-9A-F]{2}", optional=True)
        errors = ()
        if err and err != "00":
            errors = ((self._ERRORS.get(err, "other"), "error"),)
        if refusal:
            reason, detail = refusal
        return self._state(power=power,
                           lamp_hours=int(lamp) if lamp is not None else self.last.lamp_hours,
                           errors=errors, link_state="ok", reason=reason, detail=detail)

    def _value(self, name: str, pattern: str, optional: bool = False) -> str | None:
        reply = self._ask(f"{name}?")
        if optional and reply == "ERR":
            return None
        match = re.fullmatch(rf"{name}=({pattern})", reply)
        if not match:
            raise _Garbage(f"unexpected reply to {name}?: {reply!r}")
        return match.group(1)

    def _ask(self, command: str) -> str:
        port = self._serial
        port.reset_input_buffer()            # whatever a previous garbled reply left
        port.write(command.encode("ascii") + b"\r")
        raw = port.read_until(b":")          # the timeout covers the whole reply
        if not raw.endswith(b":"):
            if raw:
                raise _Garbage(f"reply to {command} without the ':' prompt: {raw[:40]!r}")
            raise _NoAnswer(f"no answer to {command} on {self.port} within {self.timeout_s:g} s")
        try:
            return raw[:-1].decode("ascii").strip()
        except UnicodeDecodeError:
            raise _Garbage(f"reply to {command} is not text: {raw[:40]!r}") from None

    def _open(self) -> ProjectorState | None:
        now = self.clock.monotonic()
        if now < self._next_open_at:
            return self.last if self.last.link_state == "lost" else self._lost(
                "no_port", f"waiting to reopen {self.port}")
        if not os.path.exists(self.port):
            self._schedule_reopen()
            return self._lost("no_port", f"serial port {self.port} is missing")
        try:
            self._serial = serial.Serial(self.port, baudrate=9600, bytesize=8, parity="N",
                                         stopbits=1, timeout=self.timeout_s,
                                         write_timeout=self.timeout_s)
        except (serial.SerialException, OSError) as exc:
            self._schedule_reopen()
            return self._lost("no_port", f"cannot open {self.port}: {exc}")
        self._backoff_s = 0.0
        return None

    def _schedule_reopen(self) -> None:
        # Spares the CPU and the log, but never waits longer than one poll.
        self._backoff_s = min(self.backoff_max_s, max(0.05, self._backoff_s * 2))
        self._next_open_at = self.clock.monotonic() + self._backoff_s

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except Exception:  # a vanished adapter may fail to close; it is gone either way
                pass


class _NoAnswer(Exception):
    pass


class _Garbage(Exception):
    pass
