# make run   — set up what is missing, run the simulated rig (UI on http://127.0.0.1:8080)
# make test  — set up what is missing, run the test suite
# make bench — set up what is missing, print the benchmark figures

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# Debian packages the rig needs at run time and in tests.
APT_PACKAGES := ffmpeg libmpv2 libportaudio2 pulseaudio pulseaudio-utils chromium fonts-dejavu-core systemd dbus-daemon mosquitto openssl
APT_INSTALL  := apt-get install -y --no-install-recommends

.PHONY: setup system-packages run test bench i18n clean install uninstall

setup: system-packages $(STAMP)

# Installs what is missing when root; otherwise prints the exact command.
system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo ">> installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(APT_INSTALL)$$missing; \
	  else \
	    echo "Missing system packages. Run this, then try again:"; \
	    echo "  sudo $(APT_INSTALL)$$missing"; \
	    exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*; touch $@

run: setup
	$(BIN)/rigd $(ARGS)

# Two test files at a time (pytest-xdist): about 7 min on two cores instead of 12, as most of
# a test's time is a real daemon's timers. Each file stays on one worker (--dist loadfile),
# each worker draws ports from a block of its own (tests/helpers.free_port).
# TEST_WORKERS= (empty) runs everything in one process, e.g. for --pdb.
TEST_WORKERS ?= -n 2 --dist loadfile

test: setup
	$(BIN)/python -m pytest $(TEST_WORKERS) $(ARGS)

bench: setup
	@for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# After adding strings to web_ui/i18n/messages.pot: every language's .po gains them.
i18n: setup
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -w 100 \
	  -i web_ui/i18n/messages.pot -d web_ui/i18n -D messages

# On a Pi, as root: apt packages, /opt/mdu-rig, users, config, units.
# DESTDIR=/some/dir stages the files there and touches nothing else.
install:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/mdu-rig)" systemd/install-rig install

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(or $(PREFIX),/opt/mdu-rig)" systemd/install-rig uninstall

clean:
	rm -rf $(VENV) var build *.egg-info
