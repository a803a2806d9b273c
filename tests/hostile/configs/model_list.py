model = [dict(type='FasterRCNN')]
