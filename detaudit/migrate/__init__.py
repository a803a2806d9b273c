"""``detaudit migrate``: MMDetection 2.x configs to 3.x (mapping tables in :mod:`.tables`)."""
