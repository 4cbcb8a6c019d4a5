"""What a font can draw: the characters a TrueType font has a glyph for, read from its file.

    >>> "é" in font_chars("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    True

The touch screen's test uses it to prove every character on the screen is in
the one font the Pi ships (fonts-dejavu-core): a missing one is drawn as an
empty box there. No font library: the cmap table, formats 4 and 12, is enough.
"""

import struct


def font_chars(path) -> set:
    """The characters a TrueType font has a glyph for (its cmap, formats 4 and 12)."""
    data = open(path, "rb").read()
    tables = {data[12 + 16 * i:16 + 16 * i].decode("latin-1"):
              struct.unpack(">II", data[20 + 16 * i:28 + 16 * i])
              for i in range(struct.unpack(">H", data[4:6])[0])}
    at = tables["cmap"][0]
    chars = set()
    for i in range(struct.unpack(">H", data[at + 2:at + 4])[0]):
        s = at + struct.unpack(">I", data[at + 8 + 8 * i:at + 12 + 8 * i])[0]
        fmt_ = struct.unpack(">H", data[s:s + 2])[0]
        if fmt_ == 4:
            n2 = struct.unpack(">H", data[s + 6:s + 8])[0]
            n = n2 // 2
            ends = struct.unpack(f">{n}H", data[s + 14:s + 14 + n2])
            starts = struct.unpack(f">{n}H", data[s + 16 + n2:s + 16 + 2 * n2])
            deltas = struct.unpack(f">{n}h", data[s + 16 + 2 * n2:s + 16 + 3 * n2])
            ro = s + 16 + 3 * n2
            offsets = struct.unpack(f">{n}H", data[ro:ro + n2])
            for k in range(n):
                for c in range(starts[k], ends[k] + 1):
                    if offsets[k] == 0:
                        glyph = (c + deltas[k]) & 0xFFFF
                    else:
                        a = ro + 2 * k + offsets[k] + 2 * (c - starts[k])
                        glyph = struct.unpack(">H", data[a:a + 2])[0]
                        glyph = glyph and (glyph + deltas[k]) & 0xFFFF
                    if glyph and c != 0xFFFF:
                        chars.add(chr(c))
        elif fmt_ == 12:
            for k in range(struct.unpack(">I", data[s + 12:s + 16])[0]):
                first, last, _ = struct.unpack(">III", data[s + 16 + 12 * k:s + 28 + 12 * k])
                chars.update(chr(c) for c in range(first, last + 1))
    return chars
