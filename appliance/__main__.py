"""`python -m appliance` runs the daemon, like `rigd`."""

import sys

from .daemon import main

sys.exit(main())
