"""Rules the source keeps: every code has its words (FR, EN); the web layer never touches devices."""

import re

import pytest

from .helpers import REPO

CODE = re.compile(r"""(?:Refused\(|refusal\()\s*"([a-z_]+)"|"""
                  r"""(?:emit\(|Emit\()\s*"([a-z_.]+)\"""")


def codes_in_source() -> set[str]:
    found = set()
    for path in (REPO / "appliance").rglob("*.py"):
        for refusal, event in CODE.findall(path.read_text()):
            found.add(f"refusal.{refusal}" if refusal else f"event.{event}")
    return found


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_code_in_the_source_has_words(lang):
    from appliance.i18n import Catalog
    catalog = Catalog.load().languages[lang]
    codes = codes_in_source()
    assert len(codes) > 60, "the pattern still finds the codes"
    missing = sorted(c for c in codes if c not in catalog)
    assert missing == [], f"the {lang} catalog lacks: {missing}"


def test_the_web_layer_never_reaches_the_devices():
    """It sends commands and reads snapshots: the rig alone talks to the hardware."""
    import ast
    for path in (REPO / "appliance" / "web").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any("devices" in n for n in names), f"{path.name} imports {names}"
