# The two commands of the README: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= sqlite:///$(CURDIR)/var/demo.db
HOST ?= 127.0.0.1
PORT ?= 8000
BANK_PORT ?= 8010

.PHONY: demo test check lint install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p var
	YIBAO_DATABASE_URL=$(DEMO_DB) $(BIN)/yibao db upgrade
	YIBAO_DATABASE_URL=$(DEMO_DB) $(BIN)/yibao load examples/demo.yaml
	@$(BIN)/python -m yibao.demo_help --url http://$(HOST):$(PORT)
	@echo "simulated bank on http://$(HOST):$(BANK_PORT) (ledger var/bank.db); the platform delivers to it."
	@echo "  YIBAO_DATABASE_URL=$(DEMO_DB) YIBAO_BANK_URL=http://$(HOST):$(BANK_PORT) $(BIN)/yibao bank reconcile"
	@echo
	$(BIN)/yibao bank serve --host $(HOST) --port $(BANK_PORT) --db var/bank.db & bank=$$!; \
	trap 'kill $$bank 2>/dev/null' EXIT INT TERM; \
	YIBAO_DATABASE_URL=$(DEMO_DB) YIBAO_BANK_URL=http://$(HOST):$(BANK_PORT) \
	    $(BIN)/yibao serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy src/yibao/rules src/yibao/money.py

test: $(STAMP) lint
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python bench/gateway_1101.py

clean:
	rm -rf $(VENV) var .pytest_cache
