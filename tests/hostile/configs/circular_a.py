_base_ = ['circular_b.py']
