"""`python -m appliance` runs the daemon, like `rigd`."""

import sys

from .rigd import main

sys.exit(main())
