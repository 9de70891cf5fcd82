"""REPORT.md from every enabled reproduction's section (papers/document.py): a heading reproduction's section
first and the others after it, or a plain head when none heads the report; each following section also written
to its own folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from distillbench.papers import document
from distillbench.papers.base import ReportContext, Reproduction, Section


class Paper(Reproduction):
    def __init__(self, name: str, heads: bool = False) -> None:
        self.name, self.citation, self.heads_report = name, f"{name}, a paper", heads
        self.asked: list[ReportContext | None] = []

    def section(self, config, results_dir: Path, figures_dir: Path, context=None) -> Section:
        self.asked.append(context)
        body = (
            f"# Head of {self.name}\n\ntext\n\n" if self.heads_report else f"## {self.name}\n\nfigures: {figures_dir}"
        )
        return Section(body, pd.DataFrame({"paper": [self.name], "value": [len(self.name)]}))


CONFIG = {"run_name": "r", "data_dir": "d", "profile": "smoke"}


def _write(monkeypatch, tmp_path: Path, papers: list[Paper]) -> str:
    monkeypatch.setattr(document, "enabled", lambda config: papers)
    out = tmp_path / "REPORT.md"
    document.write_report(CONFIG, tmp_path, out, config_files=["c.yaml"])
    return out.read_text()


def test_the_heading_section_comes_first_and_the_others_follow(monkeypatch, tmp_path):
    first, second, head = Paper("first2001"), Paper("second2002"), Paper("head2000", heads=True)
    text = _write(monkeypatch, tmp_path, [head, first, second])
    expected_tail = f"## first2001\n\nfigures: {tmp_path / 'first2001' / 'figures'}\n\n## second2002\n\nfigures: "
    assert text.startswith("# Head of head2000\n\ntext\n\n## first2001")
    assert expected_tail in text and text.endswith("figures\n")
    assert head.asked == [ReportContext(tmp_path / "REPORT.md", ("c.yaml",))]
    for p in (first, second):
        assert (
            tmp_path / p.name / "section.md"
        ).read_text() == f"## {p.name}\n\nfigures: {tmp_path / p.name / 'figures'}\n"
        assert pd.read_csv(tmp_path / p.name / "table.csv").value.tolist() == [len(p.name)]
        assert (tmp_path / p.name / "figures").is_dir()
    assert not (tmp_path / head.name).exists()


def test_without_a_heading_reproduction_the_report_has_a_plain_head(monkeypatch, tmp_path):
    text = _write(monkeypatch, tmp_path, [Paper("first2001"), Paper("second2002")])
    assert text.startswith("# REPORT: first2001, second2002\n")
    assert "## Provenance" in text and "reproductions: `first2001`, `second2002`" in text
    assert "- first2001: first2001, a paper" in text
    assert text.index("## first2001") < text.index("## second2002")
    assert (tmp_path / "config.json").exists()


def test_two_heading_reproductions_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="at most one"):
        _write(monkeypatch, tmp_path, [Paper("a2000", heads=True), Paper("b2000", heads=True)])
