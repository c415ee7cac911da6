"""Sub-commands of the ``ragtune`` command line, one module each."""
