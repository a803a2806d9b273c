"""Stage 3: the facts about one config, computed on first use and at most once.

:mod:`.context` is the memo every rule reads through; each fact family has its module:
:mod:`.build` (the model, as training builds it), :mod:`.intent` (what should be frozen, and
who says so), :mod:`.pretrained` and :mod:`.checkpoint` (weights and where they come from),
:mod:`.optimizer`, :mod:`.synthetic` (the batch), :mod:`.forward` (predict and loss),
:mod:`.step` (one training step), :mod:`.pipeline_probe` (the config's own test pipeline),
:mod:`.imports` (``custom_imports``), :mod:`.run` (mmengine's Runner on a private copy of the
config: the run tier). :mod:`.sandbox` says what audited code may not do while it runs.
"""
