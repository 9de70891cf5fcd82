"""Errors a user can fix: printed as one short paragraph (what, where, the fix), never as a traceback."""

from __future__ import annotations

import re


class UserError(Exception):
    """A problem with the user's config, data, files or machine, with its fix in the message.

    The command line prints ``str(error)`` alone (no traceback) and exits with status 2.
    """


_ONE_LINE = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def paragraph(where: str, problem: str, fix: str) -> str:
    """``<where>: <problem>; fix: <fix>`` on one line: the shape of every user-facing error.

    A part quoting another library's message may hold line breaks (pickle's "... was encountered,\\nbut ...");
    each break and the blanks around it become one space."""
    return _ONE_LINE.sub(" ", f"{where}: {problem}; fix: {fix}")
