"""Automatic reports: data from the dose database, rendered (matplotlib) to PDF and HTML in a separate process.

``periods`` (which dates a report covers), ``data`` (the numbers), ``charts``/``html``/``pdf`` (the
rendering), ``job`` (the child process: data, rendering, storage, e-mails), ``process`` (starting it
with multiprocessing spawn), ``scheduler`` (the daemon thread that makes due reports and the digest).
"""
