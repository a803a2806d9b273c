from .data_preprocessor import MultiSpectralDataPreprocessor
from .detector import MultiSpectralFasterRCNN
from .dhn import DHNSampler
from .domain import DomainClassifier, GradientReversalLayer, grad_reverse
from .macl import MACLHead, build_projection
from .msp import MSPFPN, MSPReweight
from .roi_head import MACLRoIHead

__all__ = [
    'MSPReweight', 'MSPFPN', 'MACLHead', 'build_projection', 'DHNSampler', 'DomainClassifier',
    'GradientReversalLayer', 'grad_reverse', 'MACLRoIHead', 'MultiSpectralFasterRCNN',
    'MultiSpectralDataPreprocessor'
]
