# vmservice.restore - developer and CI entry points.
#
#   make deps        Debian packages for the vcsim lab (apt; needs root or sudo)
#   make venv        repo-local .venv with pinned runtime + test requirements
#   make test        unit integration sanity lint matrix
#   make unit        unit tests, with the coverage of plugins/module_utils
#   make lint        ruff check (ruff.toml) + ansible-lint
#   make matrix      unit + smoke integration tests on every older ansible-core (MATRIX_CORE)
#   make matrix-2.16 one leg of it (also matrix-2.17, matrix-2.18)
#   make demo        start the lab, seed vendor-restored VMs, run playbooks/restore.yml
#   make demo-validate  the same lab, playbooks/validate_backup.yml on good and broken backups
#   make lab         start the vcsim lab (.lab/)          make lab-down   stop it
#   make benchmark   tests/benchmarks/scan_benchmark.py
#   make clean       stop the lab and remove every generated file
#
# Nothing here talks to Ansible Galaxy: the collection has no collection
# dependencies and is made resolvable in place through a symlink tree
# (.build/ansible_collections/vmservice/restore -> this directory).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := $(CURDIR)/.venv
VBIN := $(VENV)/bin
PY := $(VBIN)/python

# The venv is rebuilt whenever the content of a requirements file changes.
REQ_FILES := requirements.txt requirements-test.txt
REQ_HASH := $(shell cat $(REQ_FILES) 2>/dev/null | sha256sum | cut -c1-16)
VENV_STAMP := $(VENV)/.installed-$(REQ_HASH)

COLLECTION_NS := vmservice
COLLECTION_NAME := restore
BUILD_DIR := $(CURDIR)/.build
COLLECTION_LINK := $(BUILD_DIR)/ansible_collections/$(COLLECTION_NS)/$(COLLECTION_NAME)

LAB_DIR := .lab
LAB_SCENARIO := tests/lab/scenarios/validate.yml
DEMO_PLAYBOOK := playbooks/validate_backup.yml
RESTORE_PLAYBOOK := playbooks/restore.yml
RESTORE_SCENARIO := tests/lab/scenarios/restore_new.yml
RESTORE_NAMESPACE ?= shop
# The Supervisor namespace (a VM folder in the lab) that the demo validates.
DEMO_NAMESPACE ?= ns-prod
DEMO_REPORT_DIR ?= $(CURDIR)/reports
# Extra arguments for ansible-playbook in `make demo`, e.g. DEMO_ARGS=-vv
DEMO_ARGS ?=

# apt packages: Go + govmomi sources to build vcsim (tests/lab), shellcheck for
# the ansible-test sanity "shellcheck" test.
APT_PACKAGES := golang-go golang-github-vmware-govmomi-dev shellcheck

TIMED := $(CURDIR)/hack/timed

# The ansible-core matrix: the latest patch of every older minor release the collection
# claims (meta/runtime.yml). The main .venv pins the newest (requirements.txt) and runs
# the full suite; each version here gets its own .venv-<minor> with the same runtime
# requirements and pytest, and runs the unit tests and the integration tests marked
# `smoke` (pytest.ini). Rebuilt when a requirements file or this list changes.
# Run a subset of the legs with e.g. `make matrix MATRIX_CORE=2.16.19` or `make matrix-2.16`.
MATRIX_PINS := 2.16.19 2.17.14 2.18.19
MATRIX_CORE ?= $(MATRIX_PINS)
MATRIX_HASH := $(shell (cat $(REQ_FILES); echo $(MATRIX_PINS)) 2>/dev/null | sha256sum | cut -c1-16)
MATRIX_VENV = $(CURDIR)/.venv-$(1)

# Environment under which ansible runs against the in-place collection.
ANSIBLE_ENV := ANSIBLE_COLLECTIONS_PATH=$(BUILD_DIR) \
	PATH=$(VBIN):$$PATH

.PHONY: help deps venv collection-link test unit integration sanity lint \
	matrix matrix-venvs demo demo-validate lab lab-down benchmark clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# --------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------

deps:
	@$(CURDIR)/hack/apt-deps.sh $(APT_PACKAGES)

venv: $(VENV_STAMP)
	@:

$(VENV_STAMP):
	@if [ ! -x $(PY) ]; then \
		echo "venv: creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-test.txt
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "venv: ready ($(VENV), requirements $(REQ_HASH))"

# One venv per ansible-core of the matrix: .venv-2.16/.installed-<hash>. The runtime
# requirements are requirements.txt without its ansible-core pin, plus the pytest pin of
# requirements-test.txt (the matrix runs no linter).
$(CURDIR)/.venv-%/.installed-$(MATRIX_HASH):
	@core="$(filter $*.%,$(MATRIX_PINS))"; \
	if [ -z "$$core" ]; then echo "matrix: ansible-core $* is not in MATRIX_PINS ($(MATRIX_PINS))" >&2; exit 2; fi; \
	dir=$(call MATRIX_VENV,$*); \
	if [ ! -x $$dir/bin/python ]; then \
		echo "matrix: creating $$dir with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $$dir; \
	fi; \
	{ grep -v -i -E '^ansible-core([=<>!~ ]|$$)' requirements.txt; grep -E '^pytest==' requirements-test.txt; } \
		> $$dir/requirements-matrix.txt; \
	$$dir/bin/python -m pip install --disable-pip-version-check --quiet \
		"ansible-core==$$core" -r $$dir/requirements-matrix.txt; \
	rm -f $$dir/.installed-*; \
	touch $@; \
	echo "matrix: ready ($$dir, ansible-core $$core, requirements $(MATRIX_HASH))"

# The stamps are real files, not intermediates of the matrix-% rule: keep them.
.PRECIOUS: $(CURDIR)/.venv-%/.installed-$(MATRIX_HASH)

matrix-venvs: $(foreach core,$(MATRIX_CORE),$(call MATRIX_VENV,$(basename $(core)))/.installed-$(MATRIX_HASH))
	@:

# .build/ansible_collections/vmservice/restore -> repo root
collection-link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@if [ "$$(readlink $(COLLECTION_LINK) 2>/dev/null)" != "$(CURDIR)" ]; then \
		ln -sfn $(CURDIR) $(COLLECTION_LINK); \
	fi

# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

test: unit integration sanity lint matrix

# The coverage figure is the one of plugins/module_utils (the pure decisions and the clients),
# lines and branches, as the unit tests alone reach it.
UNIT_COVERAGE := --cov=ansible_collections.$(COLLECTION_NS).$(COLLECTION_NAME).plugins.module_utils \
	--cov-branch --cov-report=term
unit: venv collection-link
	@$(TIMED) unit env $(ANSIBLE_ENV) $(PY) -m pytest $(UNIT_COVERAGE) tests/unit

integration: deps venv collection-link
	@$(TIMED) integration env $(ANSIBLE_ENV) $(PY) -m pytest tests/integration

# ansible-test sanity --python 3.11 on a copy of the collection (hack/sanity.sh).
# Pass extra ansible-test arguments with SANITY_ARGS, e.g. SANITY_ARGS="--test pep8".
SANITY_ARGS ?=
sanity: deps venv
	@$(TIMED) sanity env PATH=$(VBIN):$$PATH ANSIBLE_TEST=$(VBIN)/ansible-test \
		$(CURDIR)/hack/sanity.sh $(SANITY_ARGS)

# ruff's rule set lives in ruff.toml; ansible-lint's profile, offline mode and excludes in
# .ansible-lint.
lint: venv collection-link
	@$(TIMED) ruff $(VBIN)/ruff check --no-cache .
	@$(TIMED) lint env $(ANSIBLE_ENV) $(VBIN)/ansible-lint --profile production --offline

# Every leg runs, also after a failing one; the summary names the failing versions and the
# target fails if any did. A leg: the unit tests, then `pytest -m smoke tests/integration`,
# with the leg's python (the integration harness runs the ansible-playbook next to it).
matrix: deps matrix-venvs collection-link
	@failed=""; \
	for core in $(MATRIX_CORE); do \
		minor=$${core%.*}; \
		$(MAKE) matrix-$$minor || failed="$$failed $$minor"; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "matrix: FAILED on ansible-core$$failed (of $(MATRIX_CORE))"; exit 1; \
	fi; \
	echo "matrix: ok on ansible-core $(MATRIX_CORE)"

matrix-%: deps collection-link $(CURDIR)/.venv-%/.installed-$(MATRIX_HASH)
	@export ANSIBLE_COLLECTIONS_PATH=$(BUILD_DIR) PATH=$(call MATRIX_VENV,$*)/bin:$$PATH; \
	echo "matrix-$*: ansible-core $$(python -c 'from ansible.release import __version__; print(__version__)'), $$(python --version)"; \
	rc=0; \
	$(TIMED) matrix-$*-unit python -m pytest -p no:cacheprovider tests/unit || rc=1; \
	$(TIMED) matrix-$*-smoke python -m pytest -p no:cacheprovider -m smoke -rfE tests/integration || rc=1; \
	exit $$rc

# --------------------------------------------------------------------------
# Lab and demo (tests/lab: vcsim built from Debian's govmomi sources behind
# the project's Supervisor + WCP emulator; see docs/lab.md)
# --------------------------------------------------------------------------

# `start` builds vcsim when needed (cached in .cache/) and is a no-op when the
# lab already runs. It writes $(LAB_DIR)/env, kubeconfig and ca.pem.
lab: deps venv
	@$(TIMED) lab $(PY) -m tests.lab start --dir $(LAB_DIR)

lab-down:
	@if [ -x $(PY) ] && [ -d $(LAB_DIR) ]; then \
		$(PY) -m tests.lab stop --dir $(LAB_DIR); \
	else \
		echo "lab-down: no lab to stop"; \
	fi

# The main job: restore the vendor-restored VMs of namespace `shop` (tests/lab/scenarios/
# restore_new.yml) with playbooks/restore.yml. `reset` empties the Supervisor side first so
# every demo is a real restore (a second run without it reports the VMs already restored).
demo: deps venv collection-link lab
	$(PY) -m tests.lab reset --dir $(LAB_DIR)
	$(PY) -m tests.lab seed --dir $(LAB_DIR) $(RESTORE_SCENARIO)
	set -a; . $(LAB_DIR)/env; set +a; \
		env $(ANSIBLE_ENV) $(VBIN)/ansible-playbook -i localhost, $(RESTORE_PLAYBOOK) \
			-e '{"vmservice_restore": {"namespace": "$(RESTORE_NAMESPACE)", "report_dir": "$(DEMO_REPORT_DIR)"}}' $(DEMO_ARGS)
	@echo
	@echo "demo: restore report of namespace $(RESTORE_NAMESPACE):"
	@ls -1 $(DEMO_REPORT_DIR)/restore-$(RESTORE_NAMESPACE).* 2>/dev/null | sed 's/^/  /' \
		|| echo "  (not found in $(DEMO_REPORT_DIR); see the playbook output above)"
	@echo "demo: the lab keeps running (connection: source $(LAB_DIR)/env); stop it with 'make lab-down'"

# Backup validation of namespace ns-prod (tests/lab/scenarios/validate.yml): good and broken backups.
demo-validate: deps venv collection-link lab
	$(PY) -m tests.lab seed --dir $(LAB_DIR) $(LAB_SCENARIO)
	set -a; . $(LAB_DIR)/env; set +a; \
		env $(ANSIBLE_ENV) $(VBIN)/ansible-playbook $(DEMO_PLAYBOOK) \
			-e backup_validation_namespace=$(DEMO_NAMESPACE) \
			-e backup_validation_report_dir=$(DEMO_REPORT_DIR) $(DEMO_ARGS)
	@echo
	@echo "demo-validate: validation reports of namespace $(DEMO_NAMESPACE):"
	@ls -1 $(DEMO_REPORT_DIR)/backup-validation-$(DEMO_NAMESPACE).* 2>/dev/null | sed 's/^/  /' \
		|| echo "  (not found in $(DEMO_REPORT_DIR); see the playbook output above)"

benchmark: deps venv collection-link
	@$(TIMED) benchmark env $(ANSIBLE_ENV) $(PY) tests/benchmarks/scan_benchmark.py

# --------------------------------------------------------------------------

clean: lab-down
	rm -rf $(VENV) $(CURDIR)/.venv-* $(BUILD_DIR) $(LAB_DIR) .cache .ansible .pytest_cache .ruff_cache .coverage tests/output reports playbooks/reports
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f *.tar.gz
