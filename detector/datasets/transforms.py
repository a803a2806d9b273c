"""Transforms for paired visible/infrared samples.

A paired sample is loaded as one image whose channels are the two modalities stacked (H, W, 6),
so the stock geometric transforms (``Resize``, ``RandomFlip``, ``RandomCrop``, ...) move both
modalities and the boxes together, by construction. Photometric transforms that assume three
colour channels (``PhotoMetricDistortion``, colour-space conversions) do not apply to paired
samples.
"""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

from ..errors import DetectorDataError, ModalityMismatchError

MULTISPECTRAL_META_KEYS = ('modality', 'modalities', 'modality_pair', 'domain')


@TRANSFORMS.register_module()
class LoadMultiSpectralImageFromFile(BaseTransform):
    """Load one image, or both images of a pair stacked on the channel axis.

    Paired when ``results['modality_pair']`` is true (set by the datasets with
    ``return_modality_pair=True``): reads ``results['img_paths'][m]`` for ``m`` in
    ``results['modalities']`` and concatenates them into an (H, W, 3 * 2) array. Otherwise reads
    ``results['img_path']`` like ``LoadImageFromFile``.

    Required keys: ``img_path``; for pairs also ``img_paths``, ``modalities``.
    Added keys: ``img``, ``img_shape``, ``ori_shape``.

    Args:
        to_float32 (bool): Convert to float32. Default False (uint8).
        color_type (str): ``mmcv.imfrombytes`` flag. Default ``'color'`` (grayscale infrared
            images become 3-channel).
        imdecode_backend (str): Decoding backend. Default ``'cv2'``.
        backend_args (dict, optional): File backend arguments.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args.copy() if backend_args else None

    def _load(self, path: str) -> np.ndarray:
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise DetectorDataError(f'image file {path} does not exist') from None
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None:
            raise DetectorDataError(f'image file {path} could not be decoded')
        if img.ndim == 2:
            img = img[..., None]
        return img

    def transform(self, results: dict) -> dict:
        if results.get('modality_pair'):
            paths = results['img_paths']
            order = tuple(results['modalities'])
            imgs = [self._load(paths[m]) for m in order]
            if imgs[0].shape != imgs[1].shape:
                raise ModalityMismatchError(
                    f'paired images differ in shape: {paths[order[0]]} is {imgs[0].shape}, '
                    f'{paths[order[1]]} is {imgs[1].shape}')
            img = np.concatenate(imgs, axis=2)
        else:
            img = self._load(results['img_path'])
            if img.shape[2] == 1:
                img = img[..., 0]
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', imdecode_backend='{self.imdecode_backend}')")


@TRANSFORMS.register_module()
class PackMultiSpectralDetInputs(PackDetInputs):
    """``PackDetInputs`` whose default meta keys also keep ``modality``, ``modalities``,
    ``modality_pair`` and ``domain`` (keys a sample lacks are skipped, as in ``PackDetInputs``)."""

    def __init__(self,
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                            'flip_direction') + MULTISPECTRAL_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)
