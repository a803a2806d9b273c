_base_ = ['../configs']
