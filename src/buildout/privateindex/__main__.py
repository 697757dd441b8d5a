"""``python -m buildout.privateindex`` runs the ``privateindex`` command."""

import sys

from buildout.privateindex.cli import main

sys.exit(main())
