"""The run tier's fact family: what a real training run builds, tried on a private copy of the config.

:mod:`.data` prepares the data a run reads: a tiny synthetic copy of each dataset in that dataset's
own on-disk format, or the first few samples of the configured data when it exists on this machine.
"""
