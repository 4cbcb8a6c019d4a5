"""Reading registers over Modbus RTU: the one exchange the meter needs, kept lean.

    >>> line = RtuLine(serial_port, address=1, function=4)
    >>> line.read(0, 10)                  # ten registers from 0, as unsigned 16-bit words
    [2245, 108, 0, ...]

Each block's request frame is made once. The reply is read whole (its length
is known), then checked: address, function, byte count, CRC. Faults raise
:class:`NoAnswer` (silence: the generator stopped), :class:`BadFrame` (noise, a
broken checksum, someone else's reply) or :class:`ExceptionReply` (the meter
answered with a Modbus exception). As minimalmodbus did: both buffers are
cleared before a request, and two frames are 3.5 characters of silence apart.

Why not minimalmodbus, which read the meter until issue 19: the meter is read
once a second by a thread that finds the processor's caches cold, and its
argument checks and debug strings (made even with debugging off) cost more
than the exchange itself: a read of the PZEM-004T took 0.43 ms of CPU, the
same exchange on bare pyserial 0.15 ms (once every half second, on the
benchmark's machine); a whole poll went from 0.53 to 0.34 ms. minimalmodbus
stays the benchmarks' bare reference (``bench/bench_generator.py``), and the
simulated meter is pymodbus: two other Modbus stacks.
"""

from __future__ import annotations

import struct
import time


class RtuError(Exception):
    """A read that gave no registers."""


class NoAnswer(RtuError):
    """Nothing came back within the port's timeout."""


class BadFrame(RtuError):
    """Something came back that is not a valid reply to the request."""


class ExceptionReply(RtuError):
    """The device answered with a Modbus exception (an illegal address, busy...)."""


#: Modbus's exception codes, as a technician reads them in the meter's last error
EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
              4: "device failure", 5: "acknowledge", 6: "device busy", 8: "memory parity error",
              10: "gateway path unavailable", 11: "gateway target failed to respond"}


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16(data: bytes) -> bytes:
    """Modbus's CRC-16 of ``data``, as it goes on the wire (low byte first)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc.to_bytes(2, "little")


def silent_period_s(baudrate: int) -> float:
    """3.5 character times (11 bits each) of silence must separate two frames."""
    return 3.5 * 11 / baudrate


class RtuLine:
    """A Modbus RTU master on an open pyserial port (its timeout bounds each reply)."""

    def __init__(self, port, address: int, function: int):
        self.port = port
        self.address = address
        self.function = function
        self._silence_s = silent_period_s(port.baudrate)
        self._requests: dict[tuple[int, int], bytes] = {}
        self._last_reply_at = float("-inf")     # time.monotonic(): the wire's timing, not the rig's

    def request(self, start: int, count: int) -> bytes:
        frame = self._requests.get((start, count))
        if frame is None:
            body = bytes((self.address, self.function, start >> 8, start & 0xFF,
                          count >> 8, count & 0xFF))
            frame = self._requests[(start, count)] = body + crc16(body)
        return frame

    def read(self, start: int, count: int) -> list[int]:
        """``count`` registers from ``start``: unsigned 16-bit words."""
        frame = self.request(start, count)
        port = self.port
        port.reset_input_buffer()               # what noise left from the last exchange
        port.reset_output_buffer()
        wait = self._silence_s - (time.monotonic() - self._last_reply_at)
        if wait > 0:
            time.sleep(wait)
        port.write(frame)
        size = 5 + 2 * count
        reply = port.read(size)
        self._last_reply_at = time.monotonic()
        return self._words(reply, size, count)

    def _words(self, reply: bytes, size: int, count: int) -> list[int]:
        if not reply:
            raise NoAnswer("no answer (the read timed out)")
        if len(reply) >= 5 and reply[1] == self.function | 0x80 and reply[0] == self.address \
                and crc16(reply[:3]) == reply[3:5]:
            code = reply[2]
            raise ExceptionReply(f"the device reported {EXCEPTIONS.get(code, 'an error')} "
                                 f"(Modbus exception {code})")
        if len(reply) != size:
            raise BadFrame(f"a reply of {len(reply)} bytes, {size} expected: {reply.hex(' ')}")
        if crc16(reply[:-2]) != reply[-2:]:
            raise BadFrame(f"wrong checksum: {reply.hex(' ')}")
        if reply[0] != self.address or reply[1] != self.function or reply[2] != 2 * count:
            raise BadFrame(f"not the reply asked for: {reply.hex(' ')}")
        return list(struct.unpack_from(f">{count}H", reply, 3))
