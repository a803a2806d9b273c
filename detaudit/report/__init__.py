"""Stage 5: findings completed into a report. :mod:`.result` holds one config's result (and
its serialization for workers) and completes what rules saw into findings; :mod:`.tables`
the module, optimizer and loss tables; :mod:`.suppress` the inline-suppression post-pass
(with DA007); :mod:`.supervision` the supervisor's own findings (DA091-DA093);
:mod:`.baseline` accepted findings; :mod:`.cache` results kept across runs for unchanged
configs; :mod:`.report` the report of a run, as JSON."""
