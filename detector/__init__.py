"""MSP/MACL/DHN multispectral (visible + infrared) pedestrian detector for MMDetection 3.x.

Importing the package registers its parts in mmdet's registries; configs load it with
``custom_imports=dict(imports=['detector'], allow_failed_imports=False)``.
"""
from .datasets import (KAISTDataset, LLVIPDataset, LoadMultiSpectralImageFromFile,
                       MultiSpectralDetDataset, PackMultiSpectralDetInputs)
from .errors import (AnnotationError, DetectorDataError, EmptySplitError, MissingModalityError,
                     ModalityMismatchError, PairedBatchError)
from .hooks import FreezeModulesHook, WeightsOnlyCheckpointHook, freeze_modules
from .models import (DHNSampler, DomainClassifier, GradientReversalLayer, MACLHead, MACLRoIHead,
                     MSPFPN, MSPReweight, MultiSpectralDataPreprocessor, MultiSpectralFasterRCNN,
                     build_projection, grad_reverse)

__version__ = '0.1.0'

__all__ = [
    'MSPReweight', 'MSPFPN', 'MACLHead', 'DHNSampler', 'DomainClassifier', 'GradientReversalLayer',
    'grad_reverse', 'build_projection', 'MACLRoIHead', 'MultiSpectralFasterRCNN',
    'MultiSpectralDataPreprocessor', 'MultiSpectralDetDataset', 'LLVIPDataset', 'KAISTDataset',
    'LoadMultiSpectralImageFromFile', 'PackMultiSpectralDetInputs', 'FreezeModulesHook',
    'WeightsOnlyCheckpointHook',
    'freeze_modules', 'DetectorDataError', 'AnnotationError', 'MissingModalityError',
    'EmptySplitError', 'ModalityMismatchError', 'PairedBatchError'
]
