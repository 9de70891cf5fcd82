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


# Another library's advice that this harness must never pass on: PyTorch's "Re-running `torch.load` with
# `weights_only` set to `False` will likely succeed" (which runs any code the file holds) and its relatives.
_UNSAFE_ADVICE = re.compile(r"weights_only|arbitrary code|trusted source|safe_globals|allowlist", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(\[])")


def quote(exc: BaseException | str, limit: int = 300, longest: int = 1000) -> str:
    """Another library's message for one of our paragraphs: on one line, whole sentences only (never cut
    mid-sentence), at most ``limit`` characters unless its first sentence alone is longer, and without any
    sentence that advises loading a file unsafely. A single sentence over ``longest`` characters (a list of
    hundreds of keys) is shortened at its last comma and says so."""
    text = " ".join(str(exc).split())
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if _UNSAFE_ADVICE.search(sentence):
            continue
        if kept and len(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    out = " ".join(kept) or (type(exc).__name__ if isinstance(exc, BaseException) else "no details")
    if len(out) > longest:
        cut = out.rfind(", ", 0, longest)
        out = out[: cut if cut > 0 else longest] + ", and more (the full list is in the log)"
    return out
