"""The command line: `run.py COMMAND`, one module per command group.

Each module's `register(commands)` adds its commands to the parser; each command is a function of
(arguments, settings) that prints in Chinese and returns the exit status.
"""
