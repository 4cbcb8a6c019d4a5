"""Language codes as films tag them, and their names as the crew knows them.

    >>> normalise("fre"), normalise("bm"), normalise("FRA")
    ('fra', 'bam', 'fra')
    >>> name("bam", "fr")
    'Bamanankan'

Films are tagged with ISO 639-2 codes (sometimes the bibliographic form,
``fre``) or ISO 639-1 (``fr``); the rig compares them in one form.
"""

from __future__ import annotations

_ALIASES = {
    "fr": "fra", "fre": "fra", "bm": "bam", "en": "eng", "ff": "ful", "fuf": "ful",
    "fuv": "ful", "ar": "ara", "ses": "son", "khq": "son", "taq": "tmh", "thv": "tmh",
    "ttq": "tmh", "snk": "snk", "dyu": "dyu", "tamasheq": "tmh",
}

NAMES = {
    "bam": {"fr": "Bambara", "en": "Bambara", "self": "Bamanankan"},
    "fra": {"fr": "Français", "en": "French", "self": "Français"},
    "ful": {"fr": "Peul (fulfulde)", "en": "Fula (Fulfulde)", "self": "Fulfulde"},
    "son": {"fr": "Songhaï", "en": "Songhay", "self": "Soŋay"},
    "tmh": {"fr": "Tamasheq", "en": "Tamasheq", "self": "Tamasheq"},
    "snk": {"fr": "Soninké", "en": "Soninke", "self": "Sooninkanxanne"},
    "dyu": {"fr": "Dioula", "en": "Dyula", "self": "Julakan"},
    "eng": {"fr": "Anglais", "en": "English", "self": "English"},
    "ara": {"fr": "Arabe", "en": "Arabic", "self": "العربية"},
}


def normalise(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip().lower()
    if code in ("und", "unk", "zxx", "mis", ""):
        return None
    return _ALIASES.get(code, code)


def name(code: str | None, lang: str = "fr") -> str:
    code = normalise(code)
    if code is None:
        return {"fr": "Langue inconnue", "en": "Unknown language"}.get(lang, "?")
    names = NAMES.get(code)
    return names.get(lang, names["en"]) if names else code
