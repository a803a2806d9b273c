"""``MACLRoIHead``: a StandardRoIHead with MACL, DHN and domain-alignment losses."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import InstanceList
from torch import Tensor

from ..errors import PairedBatchError
from .macl import pool_roi_features


@MODELS.register_module()
class MACLRoIHead(StandardRoIHead):
    """StandardRoIHead plus three optional auxiliary losses, added only in loss mode.

    - ``macl_head`` (:class:`MACLHead`): ``loss_macl``, weighted by ``lambda1``.
    - ``dhn_sampler`` (:class:`DHNSampler`, needs ``macl_head``): ``loss_dhn``, weighted by
      ``lambda2``.
    - ``domain_classifier`` (:class:`DomainClassifier`): ``loss_domain``, weighted by ``lambda3``.

    All three read the pooled RoI features of the sampled proposals (the RoI extractor output).
    In a paired batch (``aux_feats`` given) the same proposal boxes are also pooled from the other
    modality's features. Predict and tensor modes are those of ``StandardRoIHead``.
    """

    def __init__(self,
                 *args,
                 macl_head: Optional[dict] = None,
                 dhn_sampler: Optional[dict] = None,
                 domain_classifier: Optional[dict] = None,
                 lambda1: float = 1.0,
                 lambda2: float = 0.5,
                 lambda3: float = 0.1,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lambda1 = float(lambda1)
        self.lambda2 = float(lambda2)
        self.lambda3 = float(lambda3)
        self.macl_head = MODELS.build(macl_head) if macl_head is not None else None
        if dhn_sampler is not None:
            if self.macl_head is None:
                raise ValueError('MACLRoIHead: dhn_sampler needs macl_head (it keeps a momentum '
                                 'copy of the MACL projection)')
            dhn_cfg = dict(dhn_sampler)
            for key in ('in_dim', 'hidden_dim', 'proj_dim'):
                dhn_cfg.setdefault(key, getattr(self.macl_head, key))
            self.dhn_sampler = MODELS.build(dhn_cfg)
        else:
            self.dhn_sampler = None
        self.domain_classifier = (
            MODELS.build(domain_classifier) if domain_classifier is not None else None)

    @property
    def with_macl(self) -> bool:
        return self.macl_head is not None

    @property
    def with_dhn(self) -> bool:
        return self.dhn_sampler is not None

    @property
    def with_domain(self) -> bool:
        return self.domain_classifier is not None

    # ------------------------------------------------------------------ helpers
    def _sample(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_gt_instances: InstanceList, batch_gt_instances_ignore: InstanceList) -> list:
        sampling_results = []
        for i in range(len(rpn_results_list)):
            rpn_results = rpn_results_list[i]
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, batch_gt_instances[i],
                                                      batch_gt_instances_ignore[i])
            sampling_result = self.bbox_sampler.sample(
                assign_result, rpn_results, batch_gt_instances[i],
                feats=[lvl_feat[i][None] for lvl_feat in x])
            sampling_results.append(sampling_result)
        return sampling_results

    def _roi_targets(self, sampling_results: list, batch_gt_instances: InstanceList
                     ) -> Tuple[Tensor, Tensor, Tensor]:
        """Class label, instance id and image index of every sampled RoI.

        Instance ids are unique over the batch: ground-truth boxes count up from 0 across images;
        each background RoI gets its own negative id.
        """
        num_classes = self.bbox_head.num_classes
        labels, ids, img_idx = [], [], []
        gt_offset, bg_offset = 0, 0
        for i, res in enumerate(sampling_results):
            n_pos = res.pos_inds.numel()
            n_neg = res.neg_inds.numel()
            device = res.priors.device
            labels.append(torch.cat([res.pos_gt_labels.long(),
                                     res.pos_gt_labels.new_full((n_neg, ), num_classes).long()]))
            neg_ids = -(torch.arange(n_neg, device=device) + bg_offset + 1)
            ids.append(torch.cat([res.pos_assigned_gt_inds.long() + gt_offset, neg_ids]))
            img_idx.append(torch.full((n_pos + n_neg, ), i, dtype=torch.long, device=device))
            gt_offset += len(batch_gt_instances[i])
            bg_offset += n_neg
        return torch.cat(labels), torch.cat(ids), torch.cat(img_idx)

    def _domain_labels(self, batch_data_samples: List[DetDataSample]) -> List[int]:
        return [self.domain_classifier.domain_index(ds.metainfo.get('domain'))
                for ds in batch_data_samples]

    # ------------------------------------------------------------------ loss
    def loss(self,
             x: Tuple[Tensor],
             rpn_results_list: InstanceList,
             batch_data_samples: List[DetDataSample],
             aux_feats: Optional[Sequence[Tensor]] = None) -> dict:
        """Detection losses plus ``loss_macl``, ``loss_dhn`` and ``loss_domain``.

        Args:
            x: multi-level features of the primary modality.
            rpn_results_list: proposals per image (from the primary modality).
            batch_data_samples: samples with ``gt_instances``; ``domain`` metainfo is optional.
            aux_feats: multi-level features of the other modality for a paired batch.
        """
        assert len(rpn_results_list) == len(batch_data_samples)
        batch_gt_instances, batch_gt_instances_ignore, _ = unpack_gt_instances(batch_data_samples)
        sampling_results = self._sample(x, rpn_results_list, batch_gt_instances,
                                        batch_gt_instances_ignore)

        losses = dict()
        bbox_results = None
        if self.with_bbox:
            bbox_results = self.bbox_loss(x, sampling_results)
            losses.update(bbox_results['loss_bbox'])
        if self.with_mask:
            mask_results = self.mask_loss(x, sampling_results,
                                          bbox_results['bbox_feats'] if bbox_results else None,
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])

        if not (self.with_macl or self.with_domain):
            return losses
        losses.update(self.auxiliary_loss(x, sampling_results, batch_gt_instances,
                                          batch_data_samples, bbox_results, aux_feats))
        return losses

    def auxiliary_loss(self, x, sampling_results, batch_gt_instances, batch_data_samples,
                       bbox_results=None, aux_feats=None) -> dict:
        """``loss_macl``, ``loss_dhn`` and ``loss_domain`` (weighted) for sampled RoIs."""
        num_imgs = len(sampling_results)
        rois = bbox2roi([res.priors for res in sampling_results])
        if bbox_results is not None and 'bbox_feats' in bbox_results:
            roi_feats = bbox_results['bbox_feats']
        else:
            roi_feats = self._pool(x, rois)
        paired = aux_feats is not None
        aux_roi_feats = None
        if paired:
            if len(aux_feats) != len(x) or any(a.shape != b.shape for a, b in zip(aux_feats, x)):
                raise PairedBatchError('MACLRoIHead: the two modalities gave features of different '
                                       'shapes; paired images must have the same size')
            aux_roi_feats = self._pool(aux_feats, rois)
        labels, inst_ids, img_idx = self._roi_targets(sampling_results, batch_gt_instances)
        roi_vecs = pool_roi_features(roi_feats)
        aux_vecs = pool_roi_features(aux_roi_feats) if paired else None

        losses = dict()
        if self.with_macl:
            gt_vecs = gt_ids = None
            if self.macl_head.resolve_mode(paired) == 'instance':
                gt_boxes = [get_box_tensor(gt.bboxes) for gt in batch_gt_instances]
                if sum(len(b) for b in gt_boxes) > 0:
                    gt_vecs = pool_roi_features(self._pool(x, bbox2roi(gt_boxes)))
                    gt_ids = torch.arange(gt_vecs.size(0), device=gt_vecs.device)
            loss_macl, z, z_aux = self.macl_head.loss(roi_vecs, inst_ids, aux_vecs, gt_vecs, gt_ids)
            losses['loss_macl'] = loss_macl * self.lambda1

            if self.with_dhn:
                dhn = self.dhn_sampler
                dhn.momentum_update(self.macl_head.proj)
                k = dhn.encode_keys(roi_vecs)
                if paired:
                    k_aux = dhn.encode_keys(aux_vecs)
                    queries = torch.cat([z, z_aux])
                    pos_keys = torch.cat([k_aux, k])
                    keys = torch.cat([k, k_aux])
                    key_labels = torch.cat([labels, labels])
                else:
                    queries, pos_keys, keys, key_labels = z, k, k, labels
                tau = (self.macl_head.temperature if dhn.temperature is None else dhn.temperature)
                loss_dhn = dhn.loss(queries, pos_keys, key_labels, tau=tau,
                                    extra_keys=keys, extra_labels=key_labels)
                losses['loss_dhn'] = loss_dhn * self.lambda2
                dhn.enqueue(keys, key_labels)

        if self.with_domain:
            per_img = torch.tensor(self._domain_labels(batch_data_samples), dtype=torch.long,
                                   device=roi_vecs.device)
            assert per_img.numel() == num_imgs
            dom_labels = per_img[img_idx]
            dom_feats = roi_vecs
            if paired:
                dom_feats = torch.cat([roi_vecs, aux_vecs])
                dom_labels = torch.cat([dom_labels, dom_labels])
            losses['loss_domain'] = self.domain_classifier.loss(dom_feats, dom_labels) * self.lambda3
        return losses

    def _pool(self, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
        """RoI features of ``rois`` from multi-level ``feats`` (with the shared head if any)."""
        out = self.bbox_roi_extractor(feats[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            out = self.shared_head(out)
        return out
