"""Image files, sampled: missing, empty, not an image; all of them when few."""
from __future__ import annotations

from detaudit.facts.data_checks.images import check_images
from detaudit.facts.data_checks.model import SplitData

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def test_missing_empty_and_not_images(tmp_path):
    (tmp_path / "ok.png").write_bytes(PNG)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    files = [str(tmp_path / n) for n in ("ok.png", "empty.png", "text.png", "gone.png")]
    (found,) = check_images(SplitData("val", "val_dataloader.dataset", "CocoDataset", ("a",), image_files=files))
    assert found.code == "DA610" and found.evidence["bad"] == 3 and found.evidence["checked"] == 4
    assert found.evidence["kinds"] == {"empty": 1, "not an image (unknown first bytes)": 1, "missing": 1}
    assert check_images(SplitData("val", "k", "CocoDataset", ("a",), image_files=files[:1])) == []


def test_a_sample_of_many_estimates_the_share(tmp_path):
    files = [str(tmp_path / f"{i}.png") for i in range(1000)]
    (found,) = check_images(SplitData("train", "k", "CocoDataset", ("a",), image_files=files), sample=50)
    assert found.evidence["checked"] == 50 and "50 sampled of 1000" in found.message and "about 100%" in found.message
