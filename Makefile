# The README's two commands: `make run` and `make test`. Both do the whole
# set-up first (scripts/setup.sh is idempotent and quick when nothing changed).
PY := .venv/bin/python
export PYWEBVIEW_GUI := qt

.PHONY: setup run test lint models tagger package

setup:
	@bash scripts/setup.sh

run: setup
	@$(PY) -m desktop

test: setup
	@$(PY) -m ruff check desktop ml tests bench packaging build.spec
	@xvfb-run -a -s "-screen 0 1280x800x24" $(PY) -m pytest -q -p no:cacheprovider

lint: setup
	@$(PY) -m ruff check desktop ml tests bench packaging build.spec

models: setup

# Retrain the default tagger from ../shared/data and rewrite webui/models/tagger/.
tagger: setup
	@$(PY) -m ml.train

# The double-clickable app in dist/ (folder, .desktop entry, tar.gz).
package: setup
	@bash scripts/package.sh
