"""Image files of a split, sampled: missing, empty or not an image (by their first bytes); decoded
when asked. Remote paths (``s3://``...) are not checked."""
from __future__ import annotations

import random
from pathlib import Path

from .model import IMAGES, DataFinding, SplitData

SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8", b"II*\x00", b"MM\x00*", b"RIFF")
DEFAULT_SAMPLE = 200


def _problem(path: Path, decode: bool) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return "missing"
    except IsADirectoryError:
        return "a directory"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if not head:
        return "empty"
    if not any(head.startswith(sig) for sig in SIGNATURES) and path.suffix.lower() not in (".npy", ".tif", ".tiff"):
        return "not an image (unknown first bytes)"
    if decode:
        import cv2

        if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
            return "does not decode"
    return None


def check_images(s: SplitData, sample: int = DEFAULT_SAMPLE, decode: bool = False, seed: int = 0) -> list[DataFinding]:
    files = [f for f in dict.fromkeys(s.image_files) if f and "://" not in f]
    if not files:
        return []
    picked = files if len(files) <= sample else random.Random(seed).sample(files, sample)
    bad: dict[str, str] = {}
    for f in picked:
        problem = _problem(Path(f), decode)
        if problem:
            bad[f] = problem
    if not bad:
        return []
    kinds: dict[str, int] = {}
    for p in bad.values():
        kinds[p] = kinds.get(p, 0) + 1
    scope = f"all {len(files)}" if len(picked) == len(files) else f"{len(picked)} sampled of {len(files)}"
    estimate = "" if len(picked) == len(files) else f" (about {len(bad) / len(picked):.0%} of the split)"
    examples = ", ".join(f"{f} ({p})" for f, p in list(bad.items())[:3])
    return [DataFinding(IMAGES, s.split, f"{s.key_path}.data_prefix",
                        f"{s.split}: {len(bad)} of {scope} image files are "
                        + ", ".join(f"{k} ({n})" for k, n in kinds.items()) + f"{estimate}, e.g. {examples}",
                        {"checked": len(picked), "images": len(files), "bad": len(bad), "kinds": kinds,
                         "examples": list(bad)[:10]},
                        "check data_root and data_prefix against where the images are, and re-copy broken files")]
