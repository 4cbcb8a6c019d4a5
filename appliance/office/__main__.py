"""``python -m appliance.office`` is ``mdu-office``."""

import sys

from .cli import main

sys.exit(main())
