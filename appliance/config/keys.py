"""How a config key is declared: its default and what values it accepts (see .load);
checks that several sections share."""

from __future__ import annotations

from dataclasses import field


def _opt(default, *, min=None, max=None, choices=None, doc=""):
    """A config key: its default and what values it accepts."""
    meta = {"min": min, "max": max, "choices": choices, "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def is_loopback(host: str) -> bool:
    """``host`` (a name or an address, no brackets) is this machine only."""
    if host == "localhost":
        return True
    import ipaddress          # only when a config is checked
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
