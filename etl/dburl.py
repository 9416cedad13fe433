"""Database URLs and database errors as they may be shown: the password never is."""

from __future__ import annotations

import re

import sqlalchemy as sa

from reach.errors import UsageError


def safe_url(url: str | sa.URL) -> str:
    """The URL as it may be shown: password hidden."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"//[^@/]*@", "//***@", str(url))


def engine(url: str, shown_as: str) -> sa.Engine:
    """An engine for ``url``; a bad URL is a usage error named as ``shown_as``."""
    try:
        return sa.create_engine(url)
    except Exception as exc:  # say so without echoing a password
        raise UsageError(f"{shown_as} is not a usable SQLAlchemy URL ({type(exc).__name__})"
                         ) from None


def failure(what: str, exc: Exception, url: str) -> str:
    """``what: the driver's message``, with the URL's password blanked wherever it shows."""
    message = f"{what}: {str(getattr(exc, 'orig', exc)).strip()}"
    try:
        password = sa.make_url(url).password
    except Exception:
        password = None
    return message.replace(password, "***") if password else message
