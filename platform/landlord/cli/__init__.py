"""The ``landlord`` command line: parses arguments, reads settings, renders output.

What belongs here: click commands, tables and progress bars (rich), mapping
Landlord errors to messages and exit codes. What must not: domain logic; each
command calls one function of a lower package.
"""
