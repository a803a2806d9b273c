# Code objects as config values: a class used as the model type.
class NotAModel:
    pass


model = dict(type=NotAModel)
