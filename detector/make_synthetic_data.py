"""Write small synthetic LLVIP- and KAIST-shaped datasets.

    python -m detector.make_synthetic_data --root data

creates ``data/LLVIP`` (``visible/{train,test}``, ``infrared/{train,test}``, ``Annotations``) and
``data/KAIST_processed`` (``visible``, ``infrared``, ``Annotations``, ``ImageSets/{train,val,test}.txt``)
with paired PNG images holding a few person-like figures and VOC XML boxes. The output depends only
on the arguments (same seed, same bytes). Trees written by this tool carry a ``SYNTHETIC.txt`` marker
and are replaced on the next run; a folder without the marker is never touched.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

MARKER = 'SYNTHETIC.txt'
LLVIP_DIR = 'LLVIP'
KAIST_DIR = 'KAIST_processed'


# ---------------------------------------------------------------------- drawing
def _person_mask(h: int, w: int) -> np.ndarray:
    """Boolean (h, w) silhouette filling its box: head, torso, arms and two legs."""
    yy, xx = np.mgrid[0:h, 0:w]
    cx = (w - 1) / 2.0
    head_r = max(1.0, 0.11 * h)
    head_cy = head_r
    head_rx = max(1.0, min(0.3 * w, 0.85 * head_r))
    head = ((xx - cx) / head_rx)**2 + ((yy - head_cy) / head_r)**2 <= 1.0
    torso = (yy >= 2 * head_r) & (yy < 0.58 * h) & (np.abs(xx - cx) <= 0.34 * w)
    arms = (yy >= 2.2 * head_r) & (yy < 0.55 * h) & (np.abs(xx - cx) <= 0.5 * w) & \
        (np.abs(xx - cx) >= 0.36 * w)
    legs = (yy >= 0.58 * h) & (np.abs(np.abs(xx - cx) - 0.16 * w) <= 0.12 * w)
    mask = head | torso | arms | legs
    # the figure touches every side of its box
    mask[0, int(round(cx))] = True
    mask[h - 1, :] |= legs[h - 1, :]
    return mask


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _place_boxes(rng: np.random.Generator, height: int, width: int,
                 n: int) -> List[Tuple[int, int, int, int]]:
    boxes: List[Tuple[int, int, int, int]] = []
    for _ in range(50 * n):
        if len(boxes) == n:
            break
        h = int(rng.integers(int(0.3 * height), int(0.7 * height) + 1))
        w = max(6, int(round(h * rng.uniform(0.35, 0.5))))
        if w >= width or h >= height:
            continue
        x1 = int(rng.integers(0, width - w))
        y1 = int(rng.integers(0, height - h))
        box = (x1, y1, x1 + w, y1 + h)
        if all(_iou(box, b) < 0.2 for b in boxes):
            boxes.append(box)
    return boxes


def _smooth(img: np.ndarray, passes: int = 1) -> np.ndarray:
    out = img.astype(np.float32)
    for _ in range(passes):
        pad = np.pad(out, [(1, 1), (1, 1)] + [(0, 0)] * (out.ndim - 2), mode='edge')
        out = (pad[:-2, 1:-1] + pad[2:, 1:-1] + pad[1:-1, :-2] + pad[1:-1, 2:] + 4 * pad[1:-1, 1:-1]) / 8
    return out


def render_pair(rng: np.random.Generator, height: int, width: int,
                max_persons: int) -> Tuple[np.ndarray, np.ndarray, List[Tuple[int, int, int, int]]]:
    """One aligned (visible BGR uint8 (H, W, 3), infrared uint8 (H, W), boxes) triple."""
    n = int(rng.integers(1, max_persons + 1))
    boxes = _place_boxes(rng, height, width, n)
    # visible: dim night scene with blocks of buildings, noisy
    base = rng.uniform(20, 60)
    vis = np.full((height, width, 3), base, np.float32)
    vis += np.linspace(0, rng.uniform(10, 40), height, dtype=np.float32)[:, None, None]
    for _ in range(int(rng.integers(2, 6))):
        bw, bh = int(rng.integers(width // 8, width // 2)), int(rng.integers(height // 8, height // 2))
        bx, by = int(rng.integers(0, width - bw)), int(rng.integers(0, height - bh))
        vis[by:by + bh, bx:bx + bw] += rng.uniform(-15, 35, size=3).astype(np.float32)
    # infrared: cool background, a few warm non-person blobs (hard negatives)
    ir = np.full((height, width), rng.uniform(30, 70), np.float32)
    ir += np.linspace(rng.uniform(0, 20), 0, height, dtype=np.float32)[:, None]
    for _ in range(int(rng.integers(0, 3))):
        bw, bh = int(rng.integers(width // 10, width // 4)), int(rng.integers(height // 12, height // 6))
        bx, by = int(rng.integers(0, width - bw)), int(rng.integers(0, height - bh))
        ir[by:by + bh, bx:bx + bw] += rng.uniform(40, 90)
    for (x1, y1, x2, y2) in boxes:
        mask = _person_mask(y2 - y1, x2 - x1)
        colour = rng.uniform(60, 200, size=3).astype(np.float32)
        region = vis[y1:y2, x1:x2]
        region[mask] = 0.3 * region[mask] + 0.7 * colour
        warm = rng.uniform(170, 235)
        ir_region = ir[y1:y2, x1:x2]
        ir_region[mask] = warm + rng.normal(0, 6, size=int(mask.sum()))
    vis = _smooth(vis) + rng.normal(0, 6, size=vis.shape)
    ir = _smooth(ir) + rng.normal(0, 3, size=ir.shape)
    return (np.clip(vis, 0, 255).astype(np.uint8), np.clip(ir, 0, 255).astype(np.uint8), boxes)


# ---------------------------------------------------------------------- writing
def _write_png(path: str, img: np.ndarray) -> None:
    import cv2
    if not cv2.imwrite(path, img, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f'could not write {path}')


def _write_voc_xml(path: str, filename: str, folder: str, width: int, height: int,
                   boxes: Sequence[Tuple[int, int, int, int]]) -> None:
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = filename
    size = ET.SubElement(root, 'size')
    ET.SubElement(size, 'width').text = str(width)
    ET.SubElement(size, 'height').text = str(height)
    ET.SubElement(size, 'depth').text = '3'
    for (x1, y1, x2, y2) in boxes:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = 'person'
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        ET.SubElement(obj, 'truncated').text = '0'
        ET.SubElement(obj, 'difficult').text = '0'
        bnd = ET.SubElement(obj, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), (x1, y1, x2, y2)):
            ET.SubElement(bnd, tag).text = str(int(value))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding='utf-8', xml_declaration=False)


def _prepare_tree(path: str) -> None:
    if osp.exists(path):
        if not osp.isfile(osp.join(path, MARKER)):
            raise FileExistsError(f'{path} exists and was not written by this tool (no {MARKER}); '
                                  'refusing to overwrite it')
        shutil.rmtree(path)
    os.makedirs(path)
    with open(osp.join(path, MARKER), 'w', encoding='utf-8') as f:
        f.write('Synthetic data written by `python -m detector.make_synthetic_data`; '
                'not real images.\n')


def make_llvip(root: str, seed: int = 0, height: int = 128, width: int = 160,
               splits: Optional[Dict[str, int]] = None, max_persons: int = 3) -> str:
    """Write ``root/LLVIP``; returns its path."""
    splits = dict(train=8, test=4) if splits is None else splits
    out = osp.join(root, LLVIP_DIR)
    _prepare_tree(out)
    rng = np.random.default_rng([seed, 1])
    os.makedirs(osp.join(out, 'Annotations'))
    first = dict(train=10001, test=190001)
    for split, count in splits.items():
        for m in ('visible', 'infrared'):
            os.makedirs(osp.join(out, m, split))
        start = first.get(split, 300001 + 10000 * len(first))
        for i in range(count):
            stem = f'{start + i:06d}'
            vis, ir, boxes = render_pair(rng, height, width, max_persons)
            _write_png(osp.join(out, 'visible', split, stem + '.png'), vis)
            _write_png(osp.join(out, 'infrared', split, stem + '.png'), ir)
            _write_voc_xml(osp.join(out, 'Annotations', stem + '.xml'), stem + '.png', 'LLVIP',
                           width, height, boxes)
    return out


def make_kaist(root: str, seed: int = 0, height: int = 128, width: int = 160,
               splits: Optional[Dict[str, int]] = None, max_persons: int = 3) -> str:
    """Write ``root/KAIST_processed``; returns its path."""
    splits = dict(train=8, val=4, test=4) if splits is None else splits
    out = osp.join(root, KAIST_DIR)
    _prepare_tree(out)
    rng = np.random.default_rng([seed, 2])
    for sub in ('visible', 'infrared', 'Annotations', 'ImageSets'):
        os.makedirs(osp.join(out, sub))
    for s_idx, (split, count) in enumerate(splits.items()):
        stems = []
        for i in range(count):
            stem = f'set{s_idx * 2:02d}_V{i // 50:03d}_I{(i % 50) * 20:05d}'
            vis, ir, boxes = render_pair(rng, height, width, max_persons)
            _write_png(osp.join(out, 'visible', stem + '.png'), vis)
            _write_png(osp.join(out, 'infrared', stem + '.png'), ir)
            _write_voc_xml(osp.join(out, 'Annotations', stem + '.xml'), stem + '.png',
                           'KAIST_processed', width, height, boxes)
            stems.append(stem)
        with open(osp.join(out, 'ImageSets', f'{split}.txt'), 'w', encoding='utf-8') as f:
            f.write(''.join(s + '\n' for s in stems))
    return out


def generate(root: str = 'data', seed: int = 0, height: int = 128, width: int = 160,
             llvip: Optional[Dict[str, int]] = None, kaist: Optional[Dict[str, int]] = None,
             max_persons: int = 3, datasets: Sequence[str] = ('llvip', 'kaist')) -> Dict[str, str]:
    """Write the requested synthetic trees under ``root``; returns ``{name: path}``."""
    if height < 32 or width < 32:
        raise ValueError(f'images must be at least 32x32, got {height}x{width}')
    if max_persons < 1:
        raise ValueError('max_persons must be at least 1')
    os.makedirs(root, exist_ok=True)
    out = {}
    if 'llvip' in datasets:
        out['llvip'] = make_llvip(root, seed, height, width, llvip, max_persons)
    if 'kaist' in datasets:
        out['kaist'] = make_kaist(root, seed, height, width, kaist, max_persons)
    return out


def _counts(text: str, names: Sequence[str]) -> Dict[str, int]:
    values = [int(v) for v in text.split(',')]
    if len(values) != len(names) or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f'expected {len(names)} positive counts '
                                         f'({",".join(names)}), got {text!r}')
    return dict(zip(names, values))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m detector.make_synthetic_data',
        description='Write small synthetic LLVIP- and KAIST-shaped datasets (paired PNGs, VOC XML).')
    parser.add_argument('--root', default='data', help='output folder (default: data)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument('--height', type=int, default=128, help='image height (default: 128)')
    parser.add_argument('--width', type=int, default=160, help='image width (default: 160)')
    parser.add_argument('--llvip', default='8,4', metavar='TRAIN,TEST',
                        help='LLVIP images per split (default: 8,4)')
    parser.add_argument('--kaist', default='8,4,4', metavar='TRAIN,VAL,TEST',
                        help='KAIST images per split (default: 8,4,4)')
    parser.add_argument('--max-persons', type=int, default=3,
                        help='at most this many persons per image (default: 3)')
    parser.add_argument('--datasets', nargs='+', choices=('llvip', 'kaist'),
                        default=['llvip', 'kaist'], help='which trees to write (default: both)')
    args = parser.parse_args(argv)
    try:
        args.llvip_splits = _counts(args.llvip, ('train', 'test'))
        args.kaist_splits = _counts(args.kaist, ('train', 'val', 'test'))
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        out = generate(args.root, args.seed, args.height, args.width, args.llvip_splits,
                       args.kaist_splits, args.max_persons, args.datasets)
    except (FileExistsError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    for name, path in out.items():
        print(f'{name}: wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
