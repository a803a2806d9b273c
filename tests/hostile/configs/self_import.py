_base_ = ['self_import.py']
