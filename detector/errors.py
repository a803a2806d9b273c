"""Exceptions raised by the detector package.

Every data problem is reported with the offending file in the message and as early as
possible (when the dataset is built), never as a traceback from deep inside a transform.
All classes take a single message argument so that registries which re-raise an error
with a prefixed message (``type(err)(msg)``) keep the type intact.
"""


class DetectorDataError(ValueError):
    """Base class: the data on disk does not match what the dataset expects."""


class AnnotationError(DetectorDataError):
    """An annotation file is missing, is not well-formed XML, or holds invalid boxes."""


class MissingModalityError(DetectorDataError):
    """An image exists in one modality folder but not in the other."""


class EmptySplitError(DetectorDataError):
    """A split (ImageSets list or split folder) selects no images."""


class ModalityMismatchError(DetectorDataError):
    """The two images of a pair cannot be stacked (different sizes)."""


class PairedBatchError(ValueError):
    """The model was asked for something that needs a paired batch, or got a malformed one."""
