"""The dataset-writer API: what a package implements so that detaudit's run tier can write a tiny
synthetic copy of a dataset in that dataset's own on-disk format (like :mod:`detaudit.rule` for
rules, this package is the only part of detaudit a writer imports).

A writer is a callable ``writer(request: DataRequest) -> PreparedData`` registered under a dataset
type name in the ``detaudit.datasets`` entry-point group::

    [project.entry-points."detaudit.datasets"]
    MyDataset = "mypackage.audit_data:write_my_dataset"

It writes into ``request.folder`` only and returns the keys to set on the dataset's config dict;
it raises :class:`Unsupported` with the reason when it cannot serve a dataset. Optional attributes:
``annotation_names`` (``(dataset) -> {class name: count}``, read by the real-data survey) and
``real_overrides`` (``(request, overrides) -> (overrides, notes)`` for real data). The full
contract is in :mod:`.contract`.

Helpers a writer may use: :class:`Layout` (the config's relative layout re-rooted in the private
folder), :func:`image_size`, :func:`make_scenes` (images with objects whose boxes, polygons and
masks agree), :func:`object_mask`, :func:`write_image`, :func:`write_proposals` and
:func:`write_voc_xml`.

The built-in writers are registered in the same group, one module per format: :mod:`.coco`
(instances json, V3Det), :mod:`.panoptic`, :mod:`.voc` (VOC XML, WIDER Face), :mod:`.crowdhuman`,
:mod:`.openimages`, :mod:`.openmmlab` (OpenMMLab 2.0 json), :mod:`.semantic`, :mod:`.odvg`, and
:mod:`.unsupported` (the dataset types refused with a reason).
"""
from __future__ import annotations

from .contract import GROUP, DataRequest, PreparedData, Unsupported
from .draw import Obj, Scene, image_size, make_scenes, object_mask, write_image, write_proposals
from .layout import Layout, safe_relative
from .voc import write_voc_xml

__all__ = ["GROUP", "DataRequest", "PreparedData", "Unsupported", "Layout", "safe_relative", "Obj", "Scene",
           "image_size", "make_scenes", "object_mask", "write_image", "write_proposals", "write_voc_xml"]
