# Loading never finishes (needs --timeout).
while True:
    pass
