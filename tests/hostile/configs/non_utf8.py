# a comment in Latin-1: café
model = dict(type='FasterRCNN', name='café')
