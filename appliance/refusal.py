"""The one refusal: the rig (or a part of it) will not do this now, and says why.

    >>> raise Refused("cooling_down", relay="projector", left_s=42)

``code`` names the reason; the words are in the catalogs under
``refusal.<code>`` (French, English, …) and ``data`` fills them in. Every
component raises this one type; the web layer turns it into a 409 in one
place and ``rigctl`` exits 1 with the message. Faults (a device gone, the
store closed) are other exceptions: a refusal is an answer, not a failure.
"""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, code: str, **data):
        super().__init__(code)
        self.code = code
        self.data = data

    def __repr__(self) -> str:
        return f"Refused({self.code!r}, {self.data!r})"
