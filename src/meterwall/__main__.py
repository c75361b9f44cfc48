"""Allow ``python -m meterwall``."""

from meterwall.cli import main

raise SystemExit(main())
