"""The commands behind the command line: each takes options and returns an exit code."""
