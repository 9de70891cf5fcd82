"""The documents a newcomer reads: README.md stays short, and every relative link in README.md, docs/ and
results/README.md points at a file (and, for a heading anchor, a heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README_LIMIT_BYTES = 10 * 1024
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def documents() -> list[Path]:
    docs = sorted((REPO / "docs").glob("*.md"))
    return [REPO / "README.md", REPO / "results" / "README.md", *docs]


def relative_links(text: str) -> list[str]:
    """Link targets outside code blocks and code spans that are not URLs or mail addresses."""
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors: each heading lower-cased, punctuation dropped, spaces turned into hyphens."""
    anchors = set()
    for line in FENCE.sub("", markdown).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            title = re.sub(r"[^\w\- ]", "", m.group(1).lower())
            anchors.add(title.replace(" ", "-"))
    return anchors


def broken_links(doc: Path, root: Path = REPO) -> list[str]:
    """Each relative link of `doc` whose file, or whose heading anchor in a markdown file, does not exist."""
    broken = []
    for target in relative_links(doc.read_text(encoding="utf-8")):
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        shown = dest.relative_to(root.resolve()) if dest.is_relative_to(root.resolve()) else dest
        if not dest.exists():
            broken.append(f"{target} (no file {shown})")
        elif anchor and dest.suffix == ".md" and anchor not in heading_anchors(dest.read_text(encoding="utf-8")):
            broken.append(f"{target} (no heading '#{anchor}' in {shown})")
    return broken


def test_readme_is_at_most_10_kb():
    size = (REPO / "README.md").stat().st_size
    assert size <= README_LIMIT_BYTES, f"README.md is {size} bytes; move longer matter into docs/ (limit 10 KB)"


@pytest.mark.parametrize("doc", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(doc):
    assert doc.exists(), f"{doc.relative_to(REPO)} is missing"
    broken = broken_links(doc)
    assert not broken, f"{doc.relative_to(REPO)}: broken links: {broken}"


def test_the_checker_finds_a_broken_link_and_a_broken_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# A heading, with punctuation\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[ok](other.md) [ok anchor](other.md#a-heading-with-punctuation) [web](https://example.org/x)\n"
        "`[in code](nowhere.md)` [gone](missing.md) [bad anchor](other.md#nope) ![img](fig.png)\n"
        "```\n[fenced](fenced.md)\n```\n"
    )
    targets = relative_links(doc.read_text())
    assert targets == ["other.md", "other.md#a-heading-with-punctuation", "missing.md", "other.md#nope", "fig.png"]
    assert [b.split(" ")[0] for b in broken_links(doc, tmp_path)] == ["missing.md", "other.md#nope", "fig.png"]
