"""LLVIP and KAIST datasets: paired visible/infrared images with VOC-style XML annotations."""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS

from ..errors import AnnotationError, DetectorDataError, EmptySplitError, MissingModalityError

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


class MultiSpectralDetDataset(BaseDetDataset):
    """Common part of :class:`LLVIPDataset` and :class:`KAISTDataset`.

    Images of the two modalities are matched by file stem (``visible/X.jpg`` with
    ``infrared/X.jpg``; extensions may differ), annotations are ``<ann folder>/X.xml`` in VOC
    format. Objects whose name is not in ``classes`` (after ``class_aliases``) are skipped;
    ``difficult`` objects are kept with ``ignore_flag=1``.

    Every sample's metainfo carries ``modality`` (the modality whose image is ``img_path``),
    ``modalities``, ``modality_pair`` and ``domain``.

    With ``return_modality_pair=True`` each sample names both images (``img_paths``) and the
    configured pipeline loads them as one stacked image (``LoadMultiSpectralImageFromFile``), so
    every geometric transform acts on both modalities identically.

    All layout problems are found while the dataset is built and raised as
    :class:`~detector.errors.DetectorDataError` subclasses naming the file: an empty split, an
    image missing in one modality, a missing or malformed annotation file.

    Args:
        split (str): Split to load (``train``, ``test``, ...).
        modality (str): Primary modality (single-modality samples read this one). Default
            ``'infrared'``.
        modalities (sequence of str): Both modalities, in the channel order of paired samples.
        return_modality_pair (bool): Yield paired samples. Default False.
        domain (str, optional): Domain name put into the metainfo. Default: the dataset's own.
        class_aliases (dict, optional): Map of annotation names to class names, e.g.
            ``{'pedestrian': 'person'}``.
        data_prefix (dict): Folders (relative to ``data_root``) of each modality and of the
            annotations (key ``ann``).
        Other arguments as ``BaseDetDataset`` (``data_root``, ``pipeline``, ``filter_cfg``,
        ``test_mode``, ...).
    """

    METAINFO = {'classes': ('person', ), 'palette': [(220, 20, 60)]}
    DEFAULT_DOMAIN = ''

    def __init__(self,
                 *args,
                 split: str = 'train',
                 modality: str = 'infrared',
                 modalities: Sequence[str] = ('visible', 'infrared'),
                 return_modality_pair: bool = False,
                 domain: Optional[str] = None,
                 class_aliases: Optional[Dict[str, str]] = None,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        self.split = split
        self.modalities = tuple(modalities)
        if len(self.modalities) != 2 or len(set(self.modalities)) != 2:
            raise ValueError(f'{type(self).__name__}: modalities must name two different '
                             f'modalities, got {modalities!r}')
        if modality not in self.modalities:
            raise ValueError(f'{type(self).__name__}: modality {modality!r} is not one of '
                             f'{self.modalities}')
        self.modality = modality
        self.return_modality_pair = bool(return_modality_pair)
        self.domain = domain if domain is not None else self.DEFAULT_DOMAIN
        self.class_aliases = {k.lower(): v for k, v in (class_aliases or {}).items()}
        prefix = {m: m for m in self.modalities}
        prefix['ann'] = 'Annotations'
        prefix.update(data_prefix or {})
        super().__init__(*args, data_prefix=prefix, **kwargs)

    # ------------------------------------------------------------------ layout (subclasses)
    def image_dir(self, modality: str) -> str:
        """Folder holding the images of ``modality`` for this split."""
        return self.data_prefix[modality]

    def list_stems(self) -> List[str]:
        """File stems of the images of this split, in a stable order."""
        raise NotImplementedError

    # ------------------------------------------------------------------ loading
    @property
    def needed_modalities(self) -> Tuple[str, ...]:
        return self.modalities if self.return_modality_pair else (self.modality, )

    def _index_folder(self, folder: str) -> Dict[str, str]:
        if not osp.isdir(folder):
            raise MissingModalityError(f'{type(self).__name__}: image folder {folder} does not exist '
                                       f'(data_root={self.data_root!r}, split={self.split!r})')
        index = {}
        for name in sorted(os.listdir(folder)):
            stem, ext = osp.splitext(name)
            if ext.lower() in IMG_EXTENSIONS and stem not in index:
                index[stem] = osp.join(folder, name)
        return index

    def _find_image(self, index: Dict[str, str], folder: str, stem: str) -> Optional[str]:
        if stem in index:
            return index[stem]
        if '/' in stem:
            for ext in IMG_EXTENSIONS:
                path = osp.join(folder, stem + ext)
                if osp.isfile(path):
                    return path
        return None

    def load_data_list(self) -> List[dict]:
        name = type(self).__name__
        stems = self.list_stems()
        indexes = {m: self._index_folder(self.image_dir(m)) for m in self.needed_modalities}
        data_list = []
        for stem in stems:
            paths = {}
            for m in self.needed_modalities:
                path = self._find_image(indexes[m], self.image_dir(m), stem)
                if path is None:
                    others = {o: self._find_image(indexes[o], self.image_dir(o), stem)
                              for o in self.needed_modalities if o != m}
                    seen = ', '.join(f'{o}: {p}' for o, p in others.items() if p) or 'no other file'
                    raise MissingModalityError(
                        f'{name}: image {stem!r} has no {m} image in {self.image_dir(m)} '
                        f'({seen}); every image needs '
                        + ('both modalities' if self.return_modality_pair else f'a {m} file'))
                paths[m] = path
            ann_path = osp.join(self.data_prefix['ann'], stem + '.xml')
            instances, width, height = self.parse_annotation(ann_path, paths[self.modality])
            data_list.append(
                dict(
                    img_id=stem,
                    img_path=paths[self.modality],
                    img_paths=paths,
                    width=width,
                    height=height,
                    instances=instances,
                    modality=self.modality,
                    modalities=self.modalities,
                    modality_pair=self.return_modality_pair,
                    domain=self.domain,
                ))
        return data_list

    def parse_annotation(self, ann_path: str, img_path: str) -> Tuple[List[dict], int, int]:
        """Instances, width and height from one VOC XML file (errors name the file)."""
        name = type(self).__name__
        if not osp.isfile(ann_path):
            raise AnnotationError(f'{name}: annotation file {ann_path} is missing (image {img_path})')
        try:
            root = ET.parse(ann_path).getroot()
        except ET.ParseError as err:
            raise AnnotationError(f'{name}: annotation file {ann_path} is not well-formed XML: {err}') \
                from None
        width = height = None
        size = root.find('size')
        if size is not None:
            try:
                width = int(float(size.findtext('width')))
                height = int(float(size.findtext('height')))
            except (TypeError, ValueError):
                raise AnnotationError(f'{name}: annotation file {ann_path}: <size> needs numeric '
                                      '<width> and <height>') from None
        if not width or not height:
            width, height = _image_size(img_path)
        classes = self.metainfo['classes']
        instances = []
        for k, obj in enumerate(root.findall('object')):
            label_name = (obj.findtext('name') or '').strip().lower()
            label_name = self.class_aliases.get(label_name, label_name)
            if label_name not in classes:
                continue
            box = obj.find('bndbox')
            try:
                x1, y1, x2, y2 = (float(box.findtext(tag)) for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
            except (AttributeError, TypeError, ValueError):
                raise AnnotationError(f'{name}: annotation file {ann_path}: object {k} ({label_name}) '
                                      'needs a <bndbox> with numeric xmin, ymin, xmax, ymax') from None
            if not (x2 > x1 and y2 > y1):
                raise AnnotationError(f'{name}: annotation file {ann_path}: object {k} has an empty '
                                      f'box [{x1}, {y1}, {x2}, {y2}]')
            x1, x2 = max(0.0, x1), min(float(width), x2)
            y1, y2 = max(0.0, y1), min(float(height), y2)
            if not (x2 > x1 and y2 > y1):
                raise AnnotationError(f'{name}: annotation file {ann_path}: object {k} lies outside '
                                      f'the {width}x{height} image')
            difficult = obj.findtext('difficult')
            ignore = difficult is not None and difficult.strip() not in ('', '0')
            instances.append(dict(bbox=[x1, y1, x2, y2], bbox_label=classes.index(label_name),
                                  ignore_flag=int(ignore)))
        return instances, width, height

    def filter_data(self) -> List[dict]:
        """Drop images without usable boxes (``filter_empty_gt``) or smaller than ``min_size``."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = []
        for info in self.data_list:
            if min(info['width'], info['height']) < min_size:
                continue
            if filter_empty_gt and not any(i['ignore_flag'] == 0 for i in info['instances']):
                continue
            kept.append(info)
        if self.data_list and not kept:
            raise EmptySplitError(f'{type(self).__name__}: filter_cfg={self.filter_cfg} removed all '
                                  f'{len(self.data_list)} images of split {self.split!r} in '
                                  f'{self.data_root or "."}')
        return kept


def _image_size(path: str) -> Tuple[int, int]:
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.size
    except OSError as err:
        raise DetectorDataError(f'cannot read image size of {path}: {err}') from None


@DATASETS.register_module()
class LLVIPDataset(MultiSpectralDetDataset):
    """LLVIP: ``visible/{split}/``, ``infrared/{split}/`` and ``Annotations/`` under ``data_root``.

    The split's images are the files of the ``{split}`` folder of the primary modality (of both
    modalities for paired samples, so an image present in only one of them is an error).
    """

    DEFAULT_DOMAIN = 'llvip'

    def image_dir(self, modality: str) -> str:
        return osp.join(self.data_prefix[modality], self.split)

    def list_stems(self) -> List[str]:
        stems = set()
        for m in self.needed_modalities:
            folder = self.image_dir(m)
            if not osp.isdir(folder):
                raise EmptySplitError(f'LLVIPDataset: split {self.split!r} has no folder {folder}')
            found = self._index_folder(folder)
            if not found:
                raise EmptySplitError(
                    f'LLVIPDataset: split {self.split!r} is empty: no images in {folder}')
            stems.update(found)
        return sorted(stems)


@DATASETS.register_module()
class KAISTDataset(MultiSpectralDetDataset):
    """Processed KAIST: ``visible/``, ``infrared/``, ``Annotations/`` and ``ImageSets/{split}.txt``.

    The split list holds one image stem per line (blank lines and ``#`` comments are ignored).
    ``ann_file`` may name another list file (relative to ``data_root``).
    """

    DEFAULT_DOMAIN = 'kaist'

    def __init__(self, *args, split: str = 'train', ann_file: str = '', **kwargs) -> None:
        if not ann_file:
            ann_file = osp.join('ImageSets', f'{split}.txt')
        super().__init__(*args, split=split, ann_file=ann_file, **kwargs)

    def list_stems(self) -> List[str]:
        if not osp.isfile(self.ann_file):
            raise EmptySplitError(f'KAISTDataset: split list {self.ann_file} does not exist '
                                  f'(split={self.split!r})')
        with open(self.ann_file, encoding='utf-8') as f:
            stems = [ln.strip() for ln in f]
        stems = [s for s in stems if s and not s.startswith('#')]
        if not stems:
            raise EmptySplitError(f'KAISTDataset: split list {self.ann_file} is empty')
        return stems
