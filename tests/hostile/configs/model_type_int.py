model = dict(type=123)
