# A detector whose loss forward never returns: the audit is stopped at --timeout inside the
# worker and keeps the findings of the steps before.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
__detectors = __import__('mmdet.models.detectors', fromlist=['FasterRCNN'])
__registry = __import__('mmdet.registry', fromlist=['MODELS']).MODELS


class HostileHangingDetector(__detectors.FasterRCNN):
    def loss(self, *args, **kwargs):
        while True:
            pass


__registry.register_module(module=HostileHangingDetector, force=True)
del HostileHangingDetector
model = dict(type='HostileHangingDetector')
