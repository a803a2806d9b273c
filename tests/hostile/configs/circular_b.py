_base_ = ['circular_a.py']
