"""One atomic writer for every output: complete files or none, never a half-written one."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import torch

from distillbench import io


def test_writers_produce_complete_files_and_no_temporaries(tmp_path):
    io.write_text(tmp_path / "a" / "t.md", "hello\n")
    io.write_bytes(tmp_path / "b.bin", b"\x00\x01")
    io.write_json(tmp_path / "c.json", {"x": 1, "nan": float("nan")})
    io.write_csv(tmp_path / "d.csv", pd.DataFrame({"a": [1, 2], "b": [True, False]}))
    io.save_torch(tmp_path / "e.pt", {"w": torch.arange(3)})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    io.save_figure(tmp_path / "f.png", fig, dpi=20)
    plt.close(fig)
    assert (tmp_path / "a" / "t.md").read_text() == "hello\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert json.loads((tmp_path / "c.json").read_text())["x"] == 1
    assert pd.read_csv(tmp_path / "d.csv").b.tolist() == [True, False]
    assert torch.equal(torch.load(tmp_path / "e.pt", weights_only=True)["w"], torch.arange(3))
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    io.write_text(path, "old\n")

    class Exploding(pd.DataFrame):
        def to_csv(self, target, **kw):
            with open(target, "w") as fh:
                fh.write("half a ta")
            raise KeyboardInterrupt  # e.g. the job is killed mid-write

    with pytest.raises(KeyboardInterrupt):
        io.write_csv(path, Exploding({"a": [1]}))
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


WRITES = re.compile(
    r"\.write_text\(|\.write_bytes\(|\.to_csv\(|torch\.save\(|\.savefig\(|\.to_json\((?!\))|"  # to_json(): a string
    r"open\([^)]*['\"][wax]b?['\"]|\.replace\(|os\.replace\(|os\.rename\("
)


def test_every_output_goes_through_the_atomic_writer(repo_root):
    """No module but io.py writes files itself (there were once five hand-written atomic helpers)."""
    offenders = []
    for path in sorted((repo_root / "src" / "distillbench").rglob("*.py")):
        if path.name == "io.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            code = code.replace("dataclasses.replace(", "")  # a copy of a dataclass, not a file
            code = re.sub(r"\bio\.\w+\(", "", code)  # the atomic writer itself, called as io.<name>(...)
            if WRITES.search(code) and "str.replace" not in code and not re.search(r"\.replace\([\"']", code):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
