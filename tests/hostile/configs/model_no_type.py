model = dict(backbone=dict(type='ResNet', depth=18))
