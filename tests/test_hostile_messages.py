"""Error messages quote other libraries in whole sentences and never pass on advice to load a file unsafely."""

from __future__ import annotations

import os

import pytest
import torch

from distillbench.checkpoints import CheckpointError, load_checkpoint
from distillbench.errors import quote


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def _message(path) -> str:
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(path)
    return str(exc.value)


def test_a_malicious_checkpoint_message_gives_no_unsafe_advice(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"state_dict": _RunsCode()}, path)
    msg = _message(path)
    assert str(path) in msg and "; fix: delete it" in msg
    for advice in ("weights_only", "False", "trusted source", "arbitrary code"):
        assert advice not in msg, f"{advice!r} repeated: {msg}"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_a_truncated_checkpoint_message_ends_its_sentences(tmp_path, keep):
    good = tmp_path / "good.pt"
    torch.save({"state_dict": {"w": torch.zeros(4000)}}, good)
    cut = tmp_path / "model.pt"
    cut.write_bytes(good.read_bytes()[: int(good.stat().st_size * keep)])
    with pytest.raises(Exception) as original:
        torch.load(cut, weights_only=True)
    full = f"{type(original.value).__name__}: " + " ".join(str(original.value).split())
    msg = _message(cut)
    quoted = msg[msg.index("(") + 1 : msg.rindex("); fix:")]
    assert full.startswith(quoted), (quoted, full)
    assert quoted == full or quoted.endswith("."), f"cut mid-sentence: {quoted!r}"


def test_quote_keeps_whole_sentences_only():
    text = "First sentence here. Second one is longer than the rest of it. Third."
    for limit in range(1, len(text) + 5):
        out = quote(text, limit)
        assert text.startswith(out) and out.endswith("."), (limit, out)
    assert quote(text, 1) == "First sentence here."


def test_quote_drops_unsafe_advice_wherever_it_stands():
    text = (
        "Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will likely "
        "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a trusted "
        "source. Unsupported global: posix.system."
    )
    assert quote(text) == "Weights only load failed. Unsupported global: posix.system."


def test_quote_shortens_one_endless_sentence_and_says_so():
    text = "Missing keys: " + ", ".join(f"layer{i}.weight" for i in range(500)) + "."
    out = quote(text)
    assert len(out) < 1100 and out.endswith("and more (the full list is in the log)")
