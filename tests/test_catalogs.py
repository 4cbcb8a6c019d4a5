"""Every refusal and event the code can give has its words, in French and in English."""

import json
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
    catalog = json.loads((REPO / "web_ui" / "i18n" / f"{lang}.json").read_text())
    codes = codes_in_source()
    assert len(codes) > 60, "the pattern still finds the codes"
    missing = sorted(c for c in codes if c not in catalog)
    assert missing == [], f"{lang}.json lacks: {missing}"
