# A value nested far deeper than any recursive walk can follow.
deep = {}
for _ in range(100000):
    deep = {'a': deep}
model = dict(type='FasterRCNN', extra=deep)
