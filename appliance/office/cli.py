"""mdu-office: collects the fleet's messages from the office's broker and serves the fleet page.

    mdu-office --broker mqtts://broker.office.lan:8883 --username office \\
               --password-file /etc/mdu-office/password --ca-file /etc/mdu-office/ca.pem \\
               --db /var/lib/mdu-office/office.sqlite --listen 127.0.0.1:8090

Exit status: 0 when stopped (SIGTERM, Ctrl-C), 2 for a wrong argument or a
broker that refuses the login or the certificate (the message names the
option to fix), 1 for anything else that stops it from starting. A broker
that is simply not reachable yet is not an error: the collector retries
(1 s, doubling, up to a minute) while the page is served.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from pathlib import Path

from .. import __version__
from ..fleet.messages import RIG_ID
from .collector import Broker, BrokerRefused, Collector, default_client_id

log = logging.getLogger("office")

#: the page's web server: few readers, small pages
WEB_THREADS = 4


def setup_logging(level: str) -> None:
    """To stderr; under systemd without the time (the journal has it)."""
    handler = logging.StreamHandler(sys.stderr)
    journal = os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID")
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s" if journal else
                                           "%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("waitress").setLevel(logging.WARNING)


class Refusal(Exception):
    """A wrong argument or a refusal by the broker: the text says which option to fix."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mdu-office", description=(
        "The office's collector: stores what the rigs hand over to the broker "
        "and serves the fleet page."))
    p.add_argument("--broker", required=True, metavar="URL",
                   help="the office's broker: mqtts://HOST[:PORT] (TLS, 8883 by default), "
                        "or mqtt://HOST[:PORT] on a trusted network")
    p.add_argument("--username", default="office", help="the broker user (default: office)")
    p.add_argument("--password-file", metavar="FILE",
                   help="a file holding that user's password (its first line)")
    p.add_argument("--ca-file", metavar="FILE",
                   help="the CA that signed the broker's certificate (default: the system's CAs)")
    p.add_argument("--db", default="office.sqlite", metavar="FILE",
                   help="the office's database (default: office.sqlite)")
    p.add_argument("--listen", default="127.0.0.1:8090", metavar="HOST:PORT",
                   help="where the fleet page is served (default: 127.0.0.1:8090)")
    p.add_argument("--prefix", default="mdu", help="the fleet's topic prefix (default: mdu)")
    p.add_argument("--client-id", default=None,
                   help=f"the broker's name for this office's session (default: {default_client_id()}); "
                        "keep it: the messages waiting at the broker are kept under it")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--version", action="version", version=f"mdu-office {__version__}")
    return p.parse_args(argv)


def settings(args) -> dict:
    """The arguments, checked: each wrong one named with what is wrong (Refusal)."""
    try:
        broker = Broker.parse(args.broker)
    except ValueError as exc:
        raise Refusal(f"--broker {exc}") from None
    password = ""
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise Refusal(f"--password-file {args.password_file}: cannot read a password from it "
                          f"({getattr(exc, 'strerror', None) or exc or 'empty file'})") from None
        if not password:
            raise Refusal(f"--password-file {args.password_file}: its first line is empty")
    if args.ca_file:
        if not broker.tls:
            raise Refusal("--ca-file is for a TLS broker (mqtts://…)")
        try:
            ssl.create_default_context(cafile=args.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise Refusal(f"--ca-file {args.ca_file}: not a readable CA certificate (PEM) "
                          f"({getattr(exc, 'strerror', None) or exc})") from None
    if not RIG_ID.match(args.prefix):
        raise Refusal(f"--prefix {args.prefix!r}: letters, digits, '.', '_' or '-', no '/' or wildcard")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Refusal(f"--listen {args.listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8090")
    client_id = args.client_id or default_client_id()
    if not 0 < len(client_id) <= 128:
        raise Refusal("--client-id: 1 to 128 characters")
    return {"broker": broker, "password": password, "host": host.strip("[]"), "port": int(port),
            "client_id": client_id}


def connect(collector: Collector, s: dict, args) -> None:
    """The first connection, with what to fix when the broker says no."""
    broker = s["broker"]
    try:
        collector.start()
    except BrokerRefused as exc:
        if exc.bad_login:
            raise Refusal(f"{broker} refused the login ({exc}): check --username {args.username} "
                          "and the password in --password-file (the broker's password file "
                          "must have that user)") from None
        raise Refusal(f"{broker} refused the connection: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        if "mismatch" in (exc.verify_message or ""):
            raise Refusal(f"{broker}: its certificate is not made for {broker.host} "
                          f"({exc.verify_message}): give --broker the name or address it was "
                          "made for, or make the broker a certificate for this one") from None
        raise Refusal(f"{broker}: its certificate is not trusted ({exc.verify_message}): "
                      + ("--ca-file must be the CA that signed it" if args.ca_file else
                         "give the CA that signed it with --ca-file")) from None
    except ssl.SSLError as exc:
        raise Refusal(f"{broker}: TLS failed ({exc.reason or exc}); is it a TLS port? "
                      "(mqtts:// for TLS, mqtt:// without; check --ca-file)") from None
    except OSError as exc:
        # Not there yet (the office's broker starting after us, the network): keep trying.
        # A TLS client on a plain port waits for an answer that never comes; a plain
        # one on a TLS port is hung up on: say which to check.
        hint = ""
        if isinstance(exc, (TimeoutError, ConnectionResetError)):
            hint = (f" (is {broker.port} its TLS port?)" if broker.tls else
                    f" (is {broker.port} a TLS port? then --broker mqtts://…)")
        log.warning("%s not reachable (%s)%s: retrying in the background",
                    broker, getattr(exc, "strerror", None) or exc, hint)
        collector.start_later()


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        s = settings(args)
    except Refusal as exc:
        print(f"mdu-office: {exc}", file=sys.stderr)
        return 2
    import waitress

    from .storage import OfficeStore
    from .web import create_app

    try:
        store = OfficeStore(args.db)
    except Exception as exc:  # noqa: BLE001 — sqlite3's, OSError: say which file
        print(f"mdu-office: --db {args.db}: cannot open the database ({exc})", file=sys.stderr)
        return 1
    collector = Collector(store, s["broker"], args.username, s["password"], ca_file=args.ca_file,
                          prefix=args.prefix, client_id=s["client_id"])
    try:
        server = waitress.create_server(
            create_app(store, collector_state=collector.state), host=s["host"], port=s["port"],
            threads=WEB_THREADS, ident="mdu-office", channel_timeout=15, connection_limit=100,
            max_request_header_size=16 * 1024, max_request_body_size=1024)
    except (OSError, socket.gaierror) as exc:
        store.close()
        print(f"mdu-office: --listen {args.listen}: cannot listen ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    try:
        connect(collector, s, args)
    except Refusal as exc:
        server.close()
        store.close()
        print(f"mdu-office: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    web = threading.Thread(target=server.run, name="web", daemon=True)
    web.start()
    log.info("mdu-office %s: collecting %s/+/# from %s as %s; the fleet page on http://%s:%s/",
             __version__, args.prefix, s["broker"], s["client_id"], s["host"], server.effective_port)
    stop.wait()
    log.info("stopping")
    # The collector first: a message being stored is finished and acknowledged,
    # the rest stay at the broker for the next start.
    collector.stop()
    server.close()
    store.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
