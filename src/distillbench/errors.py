"""Errors a user can fix: printed as one short paragraph (what, where, the fix), never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's config, data, files or machine, with its fix in the message.

    The command line prints ``str(error)`` alone (no traceback) and exits with status 2.
    """


def paragraph(where: str, problem: str, fix: str) -> str:
    """``<where>: <problem>; fix: <fix>`` on one line: the shape of every user-facing error."""
    return f"{where}: {problem}; fix: {fix}"
