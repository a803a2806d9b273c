"""The run tier's fact family: mmengine's real Runner on a private copy of the config.

:mod:`.runner` runs it (train, validation, test, checkpoint, resume) and collects a ``RunResult``,
each attempt in a forked child (:mod:`.child`) with a hook of its own in every stage (:mod:`.watch`);
:mod:`.private_config` makes the copy small, short and private, recording each change;
:mod:`.datasets` prepares the data a run reads: a tiny synthetic copy of each dataset in that dataset's
own on-disk format (written by the writers of :mod:`detaudit.dataset`), or the first few samples of the
configured data when it exists on this machine (:mod:`.real_data`; :mod:`.data_binding` points the copy's
datasets at it); :mod:`.components` builds each component from
its own key before the Runner does, and :mod:`.attribution` ties an exception raised inside the Runner
to the component and key that caused it.
"""
