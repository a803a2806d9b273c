# Loading never finishes and swallows every exception, so a soft stop cannot end it:
# the supervisor kills the worker after the grace period.
while True:
    try:
        __import__('time').sleep(3600)
    except BaseException:
        pass
