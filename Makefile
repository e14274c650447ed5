# AeroAlpes mesh — developer entry points. `make test` and `make run` do their own set-up.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
NPM_STAMP := node_modules/.installed
PROTOS := $(shell find protos -name '*.proto' | sort)
IMAGE := generated/aeroalpes.protoset\#format=binpb

.PHONY: venv npm protos envoy web lint test system-deps run demo bench chaos clean help db-users

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: $(VENV_STAMP)  ## create .venv with the pinned Python packages (idempotent)

$(VENV_STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# generated/ and the repo root on the venv's path, so `python -m services.x` and tests import both.
	printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/generated" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/aeroalpes.pth"
	touch $@

npm: $(NPM_STAMP)  ## install the pinned npm tooling (buf)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# buf/validate/validate.proto (protovalidate's rules) comes from the installed PyPI package as a
# descriptor set; generated/aeroalpes.protoset (every file, imports included) is the image that
# buf lint/breaking and buf generate read.
protos: venv  ## regenerate generated/ (Python modules, .pyi stubs, descriptor set) from protos/
	rm -rf generated && mkdir -p generated
	d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  $(PY) protos/validate_deps.py "$$d/deps.binpb" && \
	  $(PY) -m grpc_tools.protoc -Iprotos --descriptor_set_in="$$d/deps.binpb" \
	  --python_out=generated --pyi_out=generated --grpc_python_out=generated \
	  --descriptor_set_out=generated/aeroalpes.protoset --include_imports --include_source_info \
	  buf/validate/validate.proto $(PROTOS)
	rm -f generated/buf/validate/validate_pb2_grpc.py

# The app's inputs: the protos its TypeScript is generated from, and web/ minus what is built.
WEB_STAMP := web/dist/.built
WEB_SOURCES := $(PROTOS) generated/aeroalpes.protoset buf.gen.yaml $(shell find web \( -path web/dist -o -path web/src/gen \) -prune -o -type f -print | sort)

web: $(WEB_STAMP)  ## build the browser app into web/dist (TypeScript from protos/, bundled with esbuild) when an input changed

$(WEB_STAMP): $(WEB_SOURCES) $(NPM_STAMP)
	npx buf generate
	npx tsc -p web --noEmit
	node web/build.mjs
	touch $@

envoy: venv  ## re-render envoy/envoy-local.json and envoy/envoy-compose.json from the template
	$(PY) -m services.mesh.render

.PHONY: k8s
k8s: venv  ## re-render deploy/k8s's generated files (kustomize base, Envoy's ConfigMap, MariaDB users, data NetworkPolicies)
	$(PY) -m services.mesh.k8s

run: venv web  ## the whole system locally on embedded defaults (SQLite, pulsar-lite, Envoy); Ctrl-C stops it
	$(PY) -m services.mesh

db-users: venv  ## least-privilege MySQL/MariaDB users (deploy/mysql/users.sql) as the admin AEROALPES_DB_URL names
	$(PY) -m services.kit.db_users

demo: venv  ## with `make run` up: register, log in, book three flights through the edge with grpcurl
	$(PY) -m services.mesh.demo

bench: venv web system-deps  ## benchmarks (not tests): results to bench/results/
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) -m bench.sagas
	$(PY) -m bench.relay
	$(PY) -m bench.scaling
	$(PY) -m bench.observability
	$(PY) -m bench.validation
	$(PY) -m bench.grpc_transport

chaos: venv web system-deps  ## 300 bookings while processes are SIGKILLed; checks every invariant
	$(PY) -m bench.chaos

.PHONY: mutate
mutate: venv  ## mutation testing (mutmut, one worker) of the saga, idempotency, relay checkpoint, owner and error modules on the committed tree; report to bench/results/mutation.md
	$(PY) -m bench.mutate

system-deps:  ## install Debian packages the tests need (MariaDB server, Chromium) when root and missing
	@missing=""; \
	command -v mariadbd >/dev/null || test -x /usr/sbin/mariadbd || missing="$$missing mariadb-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing:$$missing and not root: their tests skip (and fail under CI=true)"; fi; \
	fi

lint: venv npm  ## buf lint + format, ruff check + format check, mypy on services/
	npx buf lint "$(IMAGE)" --path aeroalpes  # protovalidate rules included (PROTOVALIDATE)
	npx buf format --diff --exit-code
	npx buf breaking "$(IMAGE)" --against deploy/legacy/vuelos-baseline.binpb  # the tutorial's wire contract
	npx buf generate && npx tsc -p web --noEmit
	$(PY) -m ruff check services tests bench
	$(PY) -m ruff format --check services tests bench
	$(PY) -m mypy services

test: venv npm web system-deps  ## run every test tier under coverage and print the report
	# A temp dir of its own: pytest's default one under /tmp/pytest-of-<user> is pruned by any
	# other pytest run on the machine (keeping the last three), servers' data dirs included.
	d=$$(mktemp -d /tmp/aeroalpes-test.XXXXXX) && trap 'rm -rf "$$d"' EXIT && \
	  $(PY) -m pytest --basetemp="$$d/t" --cov=services --cov-report=term --durations=25 $(PYTEST_ARGS)

clean:  ## remove the venv, node_modules and runtime data
	rm -rf .venv node_modules var .pytest_cache .mypy_cache .ruff_cache .coverage
