import sys

from lstmlint.cli import main

sys.exit(main())
