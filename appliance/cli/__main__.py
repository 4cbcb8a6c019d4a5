"""`python -m appliance.cli` runs rigctl, as `python appliance/cli.py` once did."""

import sys

from . import main

sys.exit(main())
