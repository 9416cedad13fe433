"""Files the code reads that live beside the packages, not inside them (sql/, docs/,
expectations/): in the source checkout, or where `pip install` put them
(<prefix>/share/reach/, see pyproject's data-files)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from reach.errors import ReachError

CHECKOUT = Path(__file__).resolve().parents[1]


def resource(*parts: str, env: str | None = None) -> Path:
    """The first of $env, the checkout's ``parts`` and the installed ``parts`` that exists."""
    candidates = [Path(os.environ[env])] if env and os.environ.get(env) else []
    candidates += [CHECKOUT.joinpath(*parts),
                   Path(sys.prefix).joinpath("share", "reach", *parts)]
    for c in candidates:
        if c.exists():
            return c
    hint = f"; set {env} to it" if env else ""
    raise ReachError(f"cannot find {'/'.join(parts)} (looked in "
                     f"{', '.join(str(c) for c in candidates)}){hint}; reinstall reach")
