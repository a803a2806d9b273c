"""The HTML dashboard of detaudit reports: ``detaudit dashboard REPORT.json... -o DIR`` (a static
site combining many reports) and ``--format html`` (one self-contained page of this run).

- :mod:`.model` reads a report (audit schema 1.0-1.2 or the zoo sweep's format) into rows;
- :mod:`.data` combines rows into the views' data (matrix, base-file impact, rules, diff);
- :mod:`.site` writes the pages; ``static/`` holds the script and styles they share.
"""
