"""Loaded by every Python process that scripts/mutation.sh starts, child processes included.

mutmut reads its configuration lazily from the working folder; a child process that runs in a
scratch folder (the harness's) would fail to find it the first time mutated code records that
it ran. Reading it here, from the repository, makes the children behave like the test process.
"""

import os

if os.environ.get("MUTANT_UNDER_TEST") and os.environ.get("LSTMLINT_MUTATION_ROOT"):
    _here = os.getcwd()
    os.chdir(os.environ["LSTMLINT_MUTATION_ROOT"])
    try:
        from mutmut.configuration import config

        config()
    finally:
        os.chdir(_here)
