model = 'FasterRCNN'
