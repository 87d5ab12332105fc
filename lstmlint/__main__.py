import sys

from lstmlint.cli import main

if __name__ == "__main__":  # worker processes started afresh import this module too
    sys.exit(main())
