"""``python -m landlord``: the same entry point as the ``landlord`` console script."""

from __future__ import annotations

from landlord.cli import main

if __name__ == "__main__":
    main.main()
