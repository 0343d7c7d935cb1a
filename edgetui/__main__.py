"""`python -m edgetui` is the same as the `edgetui` console script."""

import sys

from edgetui.cli import main

sys.exit(main())
