"""`python -m station` and the frozen executable both start here."""

import sys

from station.cli import main

if __name__ == "__main__":
    sys.exit(main())
