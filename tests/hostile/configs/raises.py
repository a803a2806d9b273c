# The config's own code raises while it is loaded.
raise RuntimeError('this config refuses to load')
