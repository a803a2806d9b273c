# The config's own code asks the interpreter to exit: caught, reported, the audit goes on.
__import__('sys').exit(3)
