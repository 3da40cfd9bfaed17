# The two entry points the README opens with; each sets up what it needs first.
.PHONY: demo test test-lowest lock lint bench

demo:
	bash scripts/setup.sh
	.venv/bin/evidoc check
	.venv/bin/evidoc build --site-dir build/site
	.venv/bin/evidoc pdf --tagged --output build/audit-pack.pdf

test:
	bash scripts/setup.sh --test
	.venv/bin/python -m pytest

# The same tests on the lowest versions pyproject.toml allows (.venv-lowest).
test-lowest:
	bash scripts/setup.sh --test
	bash scripts/lowest.sh

# Re-resolve requirements.lock (newest allowed versions, with hashes) after changing pyproject.toml.
lock:
	bash scripts/lock.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	.venv/bin/python benchmarks/check_scale.py
	.venv/bin/python benchmarks/site_build.py
	.venv/bin/python benchmarks/oscal_scale.py
