"""``python -m emogen``: the ``emogen`` command line (an entry point, like the console script)."""

import sys

from emogen.app.cli import main

sys.exit(main())
