"""How a simulated rig's stand-ins are fed by the rig itself.

    >>> wiring.loads(rig.loads.values(), peer)      # what the simulated generator carries
    >>> peer = wiring.projector(config, clock, mains=lambda: relay.is_on)
    >>> wiring.sample_film(library)                  # something to play in an empty library

The simulated generator carries the loads whose relays are on; a
projector whose lamp is off (standby, cooling) draws only its fan. The
simulated projector is powered by the projector relay, as a real one is.
"""

from __future__ import annotations

import logging

from . import Load

log = logging.getLogger(__name__)

#: what a projector draws with its lamp off (fan, electronics), of its rated power
LAMP_OFF_SHARE = 0.15


def loads(rig_loads, peer=None) -> list[Load]:
    lamp_off = peer is not None and peer.power in ("standby", "cooling")
    return [Load(l.name, l.cfg.power_w * (LAMP_OFF_SHARE if l.name == "projector" and lamp_off else 1.0),
                 l.cfg.inrush_w, l.on_since)
            for l in rig_loads if l.is_on]


def projector(config, clock, mains):
    """A PJLink projector on loopback, its times those of the projector relay."""
    from .projector import SimulatedProjector
    relay, cfg = config.relays["projector"], config.projector
    return SimulatedProjector(password=cfg.password, warmup_s=relay.warmup_s,
                              cooldown_s=relay.cooldown_s, mains=mains, clock=clock).start()


def sample_film(library) -> None:
    """A simulated rig with an empty library gets a sample film to play."""
    films = library.root / "films"
    if any(p.suffix in (".mkv", ".mp4") for p in films.iterdir()):
        return
    from .media import make_film
    try:
        make_film(films / "sample-dialogue.mkv", seconds=90,
                  audio=[("bam", 330), ("fra", 440), ("ful", 550)], subtitles="fra")
        library.scan()
    except Exception as exc:
        log.warning("could not make the sample film: %s", exc)
