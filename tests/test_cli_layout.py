"""rigctl's package stays small modules, and its command line stays what scripts rely on."""

import argparse
from pathlib import Path

import pytest

import appliance.cli
from appliance.cli import build_parser, main

from .helpers import free_port

CLI = Path(appliance.cli.__file__).parent

COMMANDS = {"status", "watch", "generator", "events", "config", "show", "relay", "library", "import",
            "programme", "play", "pause", "resume", "stop", "next", "seek", "volume", "audio", "sub",
            "record", "mark", "recordings", "extract", "screening", "report", "export", "prune",
            "sim", "shutdown", "projector", "doctor", "clock", "fleet", "dialogue", "consent",
            "i18n"}


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_each_module_is_small_and_says_what_it_holds(path):
    text = path.read_text()
    assert len(text.splitlines()) < 400
    assert text.startswith('"""')


def test_every_sub_command_is_still_there():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == COMMANDS


def test_usage_errors_exit_2_and_no_daemon_exits_3(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["relay", "projector", "maybe"])
    assert usage.value.code == 2
    assert main(["--url", f"http://127.0.0.1:{free_port()}", "status"]) == 3
    assert "rigd is not answering" in capsys.readouterr().err
