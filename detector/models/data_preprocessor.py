"""Data preprocessor that accepts single-modality images and stacked visible/infrared pairs."""

import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS
from mmengine.model import ImgDataPreprocessor

from ..errors import PairedBatchError


@MODELS.register_module()
class MultiSpectralDataPreprocessor(DetDataPreprocessor):
    """``DetDataPreprocessor`` that also takes paired samples.

    A paired sample is one (6, H, W) tensor: the two modalities stacked on the channel axis in the
    order of the sample's ``modalities`` metainfo (as packed by ``LoadMultiSpectralImageFromFile``
    with a pair). Each 3-channel half gets the usual colour conversion and normalization, both are
    padded alike, and the output is a (B, 6, H', W') batch that :class:`MultiSpectralFasterRCNN`
    splits again. Single-modality (3, H, W) samples are handled exactly like
    ``DetDataPreprocessor``. A batch cannot mix the two kinds.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data.get('inputs') if isinstance(data, dict) else None
        if not isinstance(inputs, (list, tuple)) or len(inputs) == 0:
            return super().forward(data, training)
        channels = {int(t.shape[0]) for t in inputs}
        if channels == {3} or channels == {1}:
            return super().forward(data, training)
        if channels != {6}:
            raise PairedBatchError(
                f'MultiSpectralDataPreprocessor: expected every input to have 3 channels '
                f'(one modality) or 6 (a visible/infrared pair), got channel counts {sorted(channels)}')
        if training and self.batch_augments is not None:
            raise PairedBatchError('MultiSpectralDataPreprocessor: batch_augments are not supported '
                                   'for paired batches (they would transform the two modalities '
                                   'differently)')
        first = dict(data, inputs=[t[:3] for t in inputs])
        second = dict(inputs=[t[3:] for t in inputs], data_samples=None)
        out = super().forward(first, training)
        aux = ImgDataPreprocessor.forward(self, second, training)
        if aux['inputs'].shape != out['inputs'].shape:
            raise PairedBatchError('MultiSpectralDataPreprocessor: the two modalities padded to '
                                   f"different shapes {tuple(out['inputs'].shape)} and "
                                   f"{tuple(aux['inputs'].shape)}")
        out['inputs'] = torch.cat([out['inputs'], aux['inputs']], dim=1)
        return out
