# custom_imports of the wrong type: mmengine cannot even call its importer.
_base_ = ['../../rules/fixtures/_base_/tiny_frcnn.py']
custom_imports = 7
