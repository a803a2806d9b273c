"""``MultiSpectralFasterRCNN``: Faster R-CNN over single-modality or paired visible/infrared batches."""
import copy
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from torch import Tensor

from ..errors import PairedBatchError

DEFAULT_MODALITIES = ('visible', 'infrared')


@MODELS.register_module()
class MultiSpectralFasterRCNN(FasterRCNN):
    """Faster R-CNN with one shared backbone and neck for two modalities.

    Inputs:

    - a single-modality batch (B, 3, H, W): an ordinary mmdet batch. The ``modality`` metainfo
      is optional (a sample without it counts as ``primary_modality``);
    - a paired batch (B, 6, H, W): visible and infrared stacked on the channel axis in the order
      ``modalities`` (what ``MultiSpectralDataPreprocessor`` produces from paired samples).

    Detection losses (RPN and RoI) and predictions use the primary modality. In a paired batch the
    backbone and neck run once over both modalities, and the RoI head gets the other modality's
    features (``aux_feats``) so that MACL/DHN/domain losses see the RoIs of both.

    Args:
        primary_modality (str): Modality used for detection. Default ``'infrared'``.
        modalities (sequence of str): Channel order of paired inputs. Default
            ``('visible', 'infrared')``.
        Everything else as :class:`FasterRCNN`.
    """

    def __init__(self,
                 *args,
                 primary_modality: str = 'infrared',
                 modalities: Sequence[str] = DEFAULT_MODALITIES,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.modalities = tuple(modalities)
        if len(self.modalities) != 2 or len(set(self.modalities)) != 2:
            raise ValueError(f'MultiSpectralFasterRCNN: modalities must name two different '
                             f'modalities, got {modalities!r}')
        if primary_modality not in self.modalities:
            raise ValueError(f'MultiSpectralFasterRCNN: primary_modality {primary_modality!r} is not '
                             f'one of modalities {self.modalities}')
        self.primary_modality = primary_modality

    # ------------------------------------------------------------------ inputs
    def _check_metainfo(self, batch_data_samples: Optional[List[DetDataSample]], paired: bool) -> None:
        if not batch_data_samples:
            return
        for i, ds in enumerate(batch_data_samples):
            meta = ds.metainfo
            if paired:
                order = tuple(meta.get('modalities', self.modalities))
                if order != self.modalities:
                    raise PairedBatchError(
                        f'MultiSpectralFasterRCNN: sample {i} ({meta.get("img_path", "?")}) stacks '
                        f'modalities in order {order}, the model expects {self.modalities}')
            else:
                modality = meta.get('modality', self.primary_modality)
                if modality not in self.modalities:
                    raise PairedBatchError(
                        f'MultiSpectralFasterRCNN: sample {i} ({meta.get("img_path", "?")}) has '
                        f'modality {modality!r}; known modalities are {self.modalities}')

    def split_modalities(self, batch_inputs: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """(primary, other) of a batch; ``other`` is ``None`` for a single-modality batch."""
        if batch_inputs.dim() != 4:
            raise PairedBatchError(f'MultiSpectralFasterRCNN: expected a (B, C, H, W) batch, got '
                                   f'shape {tuple(batch_inputs.shape)}')
        channels = batch_inputs.size(1)
        if channels == 6:
            halves = (batch_inputs[:, :3], batch_inputs[:, 3:])
            p = self.modalities.index(self.primary_modality)
            return halves[p], halves[1 - p]
        if channels in (1, 3):
            return batch_inputs, None
        raise PairedBatchError(f'MultiSpectralFasterRCNN: expected 3 channels (one modality) or 6 '
                               f'(a pair), got {channels}')

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Features of the primary modality (a paired batch is reduced to it)."""
        primary, _ = self.split_modalities(batch_inputs)
        return super().extract_feat(primary)

    def extract_pair_feat(self, batch_inputs: Tensor) -> Tuple[Tuple[Tensor], Optional[Tuple[Tensor]]]:
        """Features of both modalities with one backbone/neck pass over the concatenated batch."""
        primary, other = self.split_modalities(batch_inputs)
        if other is None:
            return super().extract_feat(primary), None
        b = primary.size(0)
        feats = super().extract_feat(torch.cat([primary, other], dim=0))
        return tuple(f[:b] for f in feats), tuple(f[b:] for f in feats)

    # ------------------------------------------------------------------ modes
    def loss(self, batch_inputs: Tensor, batch_data_samples: List[DetDataSample]) -> dict:
        x, aux_x = self.extract_pair_feat(batch_inputs)
        self._check_metainfo(batch_data_samples, paired=aux_x is not None)

        losses = dict()
        if self.with_rpn:
            proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
            rpn_data_samples = copy.deepcopy(batch_data_samples)
            for data_sample in rpn_data_samples:
                data_sample.gt_instances.labels = torch.zeros_like(data_sample.gt_instances.labels)
            rpn_losses, rpn_results_list = self.rpn_head.loss_and_predict(
                x, rpn_data_samples, proposal_cfg=proposal_cfg)
            for key in list(rpn_losses.keys()):
                if 'loss' in key and 'rpn' not in key:
                    rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
            losses.update(rpn_losses)
        else:
            assert batch_data_samples[0].get('proposals', None) is not None
            rpn_results_list = [ds.proposals for ds in batch_data_samples]

        if aux_x is not None and hasattr(self.roi_head, 'auxiliary_loss'):
            roi_losses = self.roi_head.loss(x, rpn_results_list, batch_data_samples, aux_feats=aux_x)
        else:
            roi_losses = self.roi_head.loss(x, rpn_results_list, batch_data_samples)
        losses.update(roi_losses)
        return losses
