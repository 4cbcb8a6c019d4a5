"""The rig's two web doors: the API and touch UI on ``[web] listen``, and the touch screen's
own loopback listener on ``[web] kiosk_listen``.

    >>> server, kiosk = open_doors(app, config.web)     # both bound, or StartupError
    >>> thread = serve(server, kiosk)                   # then both served

Both are bound before either serves, so an API that answers means the kiosk's door is open
too (the daemon's start-up check and the tests rely on it).
"""

from __future__ import annotations

import threading

from ..liveness import StartupError
from . import MAX_BODY_BYTES

#: web workers: the live screens' streams have their own bounded share (web/stream.py),
#: so commands (a shutdown, a stop) always find a free one
WEB_THREADS = 12
#: how often an idle web server wakes by itself (waitress: once a second); new work wakes
#: it at once, so this only paces its sweep of stale connections (channel_timeout=15)
LOOP_TIMEOUT_S = 5


def open_doors(app, web):
    """(the API's server, the kiosk's server or None), both listening."""
    import waitress
    try:
        server = waitress.create_server(
            app, host=web.host, port=web.port, threads=WEB_THREADS, ident="rigd",
            # A stranger on the crew's Wi-Fi: slow headers are dropped sooner, many idle
            # connections do not lock the crew out, a huge body is refused unread.
            channel_timeout=15, cleanup_interval=5, connection_limit=400,
            max_request_header_size=16 * 1024, max_request_body_size=MAX_BODY_BYTES,
            # Send each piece at once: the live screen's events must not wait in a buffer.
            send_bytes=1, asyncore_loop_timeout=LOOP_TIMEOUT_S)
    except OSError as exc:
        raise StartupError(f"cannot listen on {web.listen}: {exc.strerror or exc} "
                           "(is another rigd running? change [web] listen)")
    if not web.kiosk_listen or web.kiosk_listen == web.listen:
        return server, None
    # The crew's screen has its own door and workers, whatever [web] listen says: a crowd
    # on the Wi-Fi (or an attack from it) cannot keep it waiting, and it never meets the
    # PIN pad.
    host, _, port = web.kiosk_listen.rpartition(":")
    try:
        kiosk = waitress.create_server(
            app, host=host.strip("[]"), port=int(port), threads=4, ident="rigd",
            channel_timeout=15, max_request_body_size=MAX_BODY_BYTES, send_bytes=1,
            asyncore_loop_timeout=LOOP_TIMEOUT_S)
    except OSError as exc:
        server.close()
        raise StartupError(f"cannot listen on [web] kiosk_listen {web.kiosk_listen}: "
                           f"{exc.strerror or exc}")
    return server, kiosk


def serve(server, kiosk=None) -> threading.Thread:
    """Serve both doors, each on its own thread; the API's thread (its liveness is watched)."""
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    if kiosk is not None:
        threading.Thread(target=kiosk.run, name="web-kiosk", daemon=True).start()
    return thread
