"""backlint: a static-analysis linter for Python backend code."""

__version__ = "0.1.0"
