"""``python -m refunds_plugin.cli``: the same as the ``refunds`` command."""

import sys

from refunds_plugin.cli import main

sys.exit(main())
