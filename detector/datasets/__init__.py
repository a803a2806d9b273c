from .multispectral import KAISTDataset, LLVIPDataset, MultiSpectralDetDataset
from .transforms import LoadMultiSpectralImageFromFile, PackMultiSpectralDetInputs

__all__ = [
    'MultiSpectralDetDataset', 'LLVIPDataset', 'KAISTDataset', 'LoadMultiSpectralImageFromFile',
    'PackMultiSpectralDetInputs'
]
