"""``python -m gradparity``: the same as the ``gradparity`` command."""

from .cli import main

raise SystemExit(main())
