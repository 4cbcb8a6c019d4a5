"""Where rigctl speaks and what it exits with: the contract scripts rely on.

Exit codes: 0 done; 1 refused or failed (reason on stderr); 2 usage or
config error; 3 daemon unreachable. Every command writes through these two
consoles so that stdout stays data and stderr stays complaints.
"""

from __future__ import annotations

from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
