"""Who is running brm_xl: the name every log (RefreshLog, Closes, AuditLog) records."""

from __future__ import annotations

import getpass


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some service accounts
        return "unknown"
