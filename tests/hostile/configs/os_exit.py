# The config's own code ends the process with status 0, skipping every handler: only a
# supervised worker survives this (run with --jobs or --timeout).
__import__('os')._exit(0)
