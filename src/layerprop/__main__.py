"""``python -m layerprop`` runs the command line."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line itself is imported
    print("\nlayerprop: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
