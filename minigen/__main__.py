"""``python -m minigen ...`` runs the command line (see minigen/cli.py)."""
import sys

from .cli import main

sys.exit(main())
