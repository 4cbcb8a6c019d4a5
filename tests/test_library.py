"""The film library and imports from a USB stick."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from appliance.clock import SystemClock
from appliance.events import EventBus
from appliance.importer import Importer
from appliance.refusal import Refused
from appliance.files import sha256_of
from appliance.library import Library
from appliance.store import Store


@pytest.fixture
def library(tmp_path):
    store = Store(tmp_path / "rig.sqlite3")
    yield Library(tmp_path / "media", store)
    store.close()


def test_scan_lists_languages_and_broken_files_with_their_reason(library, media):
    shutil.copy(media["film"], library.root / "films")
    shutil.copy(media["broken"], library.root / "films")
    shutil.copy(media["extract"], library.root / "extracts")
    (library.root / "films" / "notes.txt").write_text("not a film")
    items = {i["path"]: i for i in library.scan()}
    assert set(items) == {"films/film.mkv", "films/broken.mkv", "extracts/extract.mkv"}
    film = items["films/film.mkv"]
    assert film["ok"] and film["kind"] == "film"
    assert film["duration_s"] == pytest.approx(6, abs=0.2)
    assert [t["lang"] for t in film["audio"]] == ["bam", "fra"]
    assert [t["lang"] for t in film["subtitles"]] == ["fra"]
    assert items["extracts/extract.mkv"]["kind"] == "extract"
    broken = items["films/broken.mkv"]
    assert not broken["ok"] and "not a readable video file" in broken["error"]


def test_a_slow_probe_never_holds_up_a_reader(library, media, monkeypatch):
    """ffprobe on a new file (a slow card, a damaged film) must not freeze the library page."""
    import threading
    import appliance.library as lib
    shutil.copy(media["film"], library.root / "films" / "known.mkv")
    library.scan()
    shutil.copy(media["film"], library.root / "films" / "new.mkv")
    started, release = threading.Event(), threading.Event()
    real = lib.probe

    def slow(path):
        started.set()
        release.wait(10)
        return real(path)
    monkeypatch.setattr(lib, "probe", slow)
    scan = threading.Thread(target=library.scan)
    scan.start()
    assert started.wait(5)
    answered = []
    reader = threading.Thread(target=lambda: answered.append(library.items()))
    reader.start()
    reader.join(2)
    try:
        assert answered, "items() waited for ffprobe"
        items = {i["path"]: i for i in answered[0]}
        assert items["films/known.mkv"]["ok"] and items["films/new.mkv"]["probing"]
    finally:
        release.set()
        scan.join(10)
        reader.join(10)
    assert {i["path"]: i for i in library.items()}["films/new.mkv"]["ok"]


def test_probed_once_and_again_when_the_file_changes(library, media, monkeypatch):
    shutil.copy(media["film"], library.root / "films" / "a.mkv")
    library.scan()
    import appliance.library as lib
    calls = []
    real = lib.probe
    monkeypatch.setattr(lib, "probe", lambda p: calls.append(p) or real(p))
    library.scan()
    assert calls == []                       # cached
    shutil.copy(media["extract"], library.root / "films" / "a.mkv")
    items = library.scan()
    assert len(calls) == 1 and items[0]["duration_s"] == pytest.approx(2, abs=0.2)
    (library.root / "films" / "a.mkv").unlink()
    assert library.scan() == []


@pytest.mark.parametrize("bad", ["../rig.sqlite3", "films/../../x", "/etc/passwd", "films/sub/x.mkv",
                                 "other/x.mkv"])
def test_paths_outside_the_library_are_refused(library, bad):
    with pytest.raises(ValueError):
        library.resolve(bad)


def stick(tmp_path, media):
    s = tmp_path / "stick"
    (s / "FILMS").mkdir(parents=True)
    (s / ".Trash-1000").mkdir()
    shutil.copy(media["film"], s / "FILMS" / "dialogue.mkv")
    shutil.copy(media["extract"], s / "intro.mkv")
    shutil.copy(media["film"], s / ".Trash-1000" / "old.mkv")
    (s / "readme.txt").write_text("x")
    return s


def test_import_copies_verified_files_and_skips_duplicates(tmp_path, library, media):
    events = EventBus(library.store, SystemClock())
    importer = Importer(library, events)
    progress = importer.run(stick(tmp_path, media))
    assert progress["state"] == "done" and progress["failed"] == []
    copied = {c["file"]: c for c in progress["copied"]}
    assert set(copied) == {"dialogue.mkv", "intro.mkv"}
    target = library.root / "films" / "dialogue.mkv"
    assert copied["dialogue.mkv"]["sha256"] == sha256_of(media["film"]) == sha256_of(target)
    assert progress["bytes_done"] == progress["bytes_total"]
    assert {i["path"] for i in library.items()} == {"films/dialogue.mkv", "films/intro.mkv"}

    # the same stick again, and the same film under another name
    again = stick(tmp_path / "2", media)
    shutil.copy(media["film"], again / "copy-of-dialogue.mkv")
    progress = importer.run(again)
    assert progress["copied"] == []
    assert {s["file"] for s in progress["skipped"]} == {"dialogue.mkv", "intro.mkv",
                                                       "copy-of-dialogue.mkv"}
    assert [e["code"] for e in library.store.events()][-1] == "library.imported"


def test_import_refuses_clearly(tmp_path, library):
    importer = Importer(library)
    with pytest.raises(Refused) as info:
        importer.run(tmp_path / "no-stick")
    assert info.value.code == "import_no_source"
    (tmp_path / "empty").mkdir()
    with pytest.raises(Refused) as info:
        importer.run(tmp_path / "empty")
    assert info.value.code == "import_nothing"


INTERRUPTED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from appliance.importer import Importer
    from appliance.library import Library
    from appliance.store import Store
    library = Library(Path(sys.argv[1]), Store(Path(sys.argv[2])))
    def on_chunk(path, done, size):
        print("copying", done, size, flush=True)
        sys.stdin.readline()          # wait here, mid-copy, until killed
    Importer(library).run(sys.argv[3], on_chunk=on_chunk)
""")


def test_an_interrupted_copy_leaves_no_file_in_the_library(tmp_path, library):
    source = tmp_path / "stick"
    source.mkdir()
    with open(source / "big.mkv", "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024))     # three chunks
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(library.root),
                              str(tmp_path / "other.sqlite3"), str(source)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.startswith("copying 1048576 3145728")
    child.kill()                                   # the stick is pulled, the power cut
    child.wait()
    films = library.root / "films"
    assert not (films / "big.mkv").exists()
    assert library.items() == []                   # the half copy is not a film
    assert library.clean_partials() == 1           # and goes at the next start
    assert list(films.iterdir()) == []

