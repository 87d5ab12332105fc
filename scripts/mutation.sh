#!/usr/bin/env bash
# Mutation testing of the modules that carry lstmlint's guarantees (docs/testing.md), with
# mutmut 3 and the [tool.mutmut] table of pyproject.toml. Not part of the default test run: a
# full run takes hours on two cores, so name the mutants to run (globs) where you can.
#
#   scripts/mutation.sh                                  # every guarantee module
#   scripts/mutation.sh 'lstmlint.confirm.experiment.*'  # one module (mutant name globs)
#
# Then `mutmut results` lists the survivors and `mutmut show NAME` shows one.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c 'import mutmut' 2>/dev/null || python -m pip install -q 'mutmut>=3,<4'
# The harness and the gradient checks run in child processes (`python -m lstmlint...`): they
# import the mutated tree through PYTHONPATH. The folder must exist before Python starts, or
# its import cache remembers it as missing. The rules package lives outside lstmlint/ in the
# source tree: a link makes `lstmlint.rules` importable from the mutated tree too.
mkdir -p mutants/lstmlint
ln -sfn ../../rules mutants/lstmlint/rules
# scripts/mutmut_site/sitecustomize.py lets those children read mutmut's configuration.
export PYTHONPATH="$PWD/mutants:$PWD/scripts/mutmut_site${PYTHONPATH:+:$PYTHONPATH}"
export LSTMLINT_MUTATION_ROOT="$PWD"
mutmut run --max-children "${MUTATION_JOBS:-2}" "$@"
mutmut results
