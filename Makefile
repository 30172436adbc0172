# evidence-locker: `make demo` and `make test` do all the set-up on a fresh Debian machine.
# Idempotent: Debian packages are installed only when missing, the virtual environment is
# rebuilt only when pyproject.toml changes.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# libpango*: WeasyPrint (PDF reports); poppler-utils: pdftotext/pdffonts/pdfdetach (report tests, docs);
# postgresql: the district replica (tests start their own server)
APT_PKGS := libzbar0 mosquitto mbpoll chromium fonts-noto-cjk gcc libc6-dev libssl-dev \
            libpango-1.0-0 libpangoft2-1.0-0 poppler-utils postgresql
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint typecheck pytest bench screens sysdeps venv clean

sysdeps:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml custody/ledger/_speedups.c
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: sysdeps $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

demo: venv
	$(VENV)/bin/locker demo

bench: venv
	$(PY) -m bench

# refresh the kiosk screenshots in docs/screens (the tests otherwise write them to /tmp)
screens: venv
	EVIDENCE_LOCKER_SCREENS=docs/screens $(VENV)/bin/pytest -q \
	  tests/integration/test_terminal_flows.py tests/integration/test_terminal_signin.py \
	  tests/integration/test_terminal_leave.py tests/integration/test_terminal_register.py \
	  tests/integration/test_district.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
