_base_ = 42
