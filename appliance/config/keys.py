"""How a config key is declared: its default and what values it accepts (see .load)."""

from __future__ import annotations

from dataclasses import field


def _opt(default, *, min=None, max=None, choices=None, doc=""):
    """A config key: its default and what values it accepts."""
    meta = {"min": min, "max": max, "choices": choices, "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)
