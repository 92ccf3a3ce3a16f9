# The two commands of the README: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= sqlite:///$(CURDIR)/var/demo.db
HOST ?= 127.0.0.1
PORT ?= 8000
BANK_PORT ?= 8010
HOSPITAL_PORT ?= 8020
WECHAT_PORT ?= 8021
ALIPAY_PORT ?= 8022
CARD_PORT ?= 8023
HOSPITAL_CONFIG ?= src/yibao/hospital/demo.yaml
# the demo hospital's file names ports 8000 and 8021-8023: the environment moves them with the variables above
HOSPITAL_ENV = YIBAO_HOSPITAL_CONFIG=$(HOSPITAL_CONFIG) \
    YIBAO_HOSPITAL_PLATFORM_URL=http://$(HOST):$(PORT) YIBAO_HOSPITAL_PUBLIC_URL=http://$(HOST):$(HOSPITAL_PORT) \
    YIBAO_HOSPITAL_WECHAT_URL=http://$(HOST):$(WECHAT_PORT) YIBAO_HOSPITAL_ALIPAY_URL=http://$(HOST):$(ALIPAY_PORT) \
    YIBAO_HOSPITAL_CARD_URL=http://$(HOST):$(CARD_PORT)

.PHONY: demo test test-fast check lint install clean bench screenshots

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
	YIBAO_DATABASE_URL=$(DEMO_DB) $(BIN)/yibao mobilepay register H44030000001 > var/mobilepay.json
	@$(BIN)/python -m yibao.demo_help --url http://$(HOST):$(PORT)
	@echo "web console http://$(HOST):$(PORT)/console/ (docs/console.md); staff accounts, new passwords each run:"
	@for account in "demo-clerk agency_clerk 440300" "demo-admin agency_admin 440300" \
	    "demo-hospital institution H44030000001" "demo-centre centre 440000"; do set -- $$account; \
	    YIBAO_DATABASE_URL=$(DEMO_DB) $(BIN)/yibao staff add $$1 --role $$2 --scope $$3 --generate --replace \
	    | sed 's/^/  /'; done
	@echo "  insured person: ID number 440305199912011177 (杨文博); the code sent appears in var/console-codes.txt"
	@echo
	@echo "simulated bank on http://$(HOST):$(BANK_PORT) (ledger var/bank.db); the platform delivers to it."
	@echo "  YIBAO_DATABASE_URL=$(DEMO_DB) YIBAO_BANK_URL=http://$(HOST):$(BANK_PORT) $(BIN)/yibao bank reconcile"
	@echo
	@echo "hospital middleware on http://$(HOST):$(HOSPITAL_PORT)/docs (H44030000001; docs/hospital.md), with simulated"
	@echo "WeChat / Alipay / card providers on :$(WECHAT_PORT) / :$(ALIPAY_PORT) / :$(CARD_PORT); a staff token for its API:"
	@echo "  YIBAO_HOSPITAL_CONFIG=$(HOSPITAL_CONFIG) $(BIN)/yibao hospital token-staff desk01"
	@echo
	$(HOSPITAL_ENV) $(BIN)/yibao hospital init
	$(BIN)/yibao bank serve --host $(HOST) --port $(BANK_PORT) --db var/bank.db & bank=$$!; \
	$(BIN)/python -m yibao.hospital.channels.simulated --kind wechat --key demo-wechat-key --host $(HOST) --port $(WECHAT_PORT) \
	    --db var/wechat.db & wechat=$$!; \
	$(BIN)/python -m yibao.hospital.channels.simulated --kind alipay --key demo-alipay-key --host $(HOST) --port $(ALIPAY_PORT) \
	    --db var/alipay.db & alipay=$$!; \
	$(BIN)/python -m yibao.hospital.channels.simulated --kind card --key demo-card-key --host $(HOST) --port $(CARD_PORT) \
	    --db var/card.db & card=$$!; \
	YIBAO_DEMO=1 $(HOSPITAL_ENV) $(BIN)/yibao hospital serve --host $(HOST) --port $(HOSPITAL_PORT) \
	    & hospital=$$!; \
	trap 'kill $$bank $$wechat $$alipay $$card $$hospital 2>/dev/null' EXIT INT TERM; \
	YIBAO_DEMO=1 YIBAO_DATABASE_URL=$(DEMO_DB) YIBAO_BANK_URL=http://$(HOST):$(BANK_PORT) \
	    YIBAO_CONSOLE_OUTBOX=var/console-codes.txt $(BIN)/yibao serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy src/yibao/rules src/yibao/money.py

test: $(STAMP) lint
	sh tests/browser/ensure_chromium.sh
	$(BIN)/pytest -n 2

# the fast tier only (tests/fast/: rules and use cases, no server, SQLite): seconds
test-fast: $(STAMP)
	$(BIN)/pytest -m fast -n 0 -q

# docs/console/*.png: the person's main page at a phone's width and each staff desk, taken by the browser journeys
screenshots: $(STAMP)
	sh tests/browser/ensure_chromium.sh
	YIBAO_SCREENSHOTS=docs/console $(BIN)/pytest -n 0 -q tests/browser/test_person_journey.py tests/browser/test_staff_journeys.py

bench: $(STAMP)
	$(BIN)/python bench/gateway_1101.py

clean:
	rm -rf $(VENV) var .pytest_cache
