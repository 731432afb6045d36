"""The identifiers backlint itself owns: its own rule ids and its exit codes, defined once."""

from __future__ import annotations

PARSE_ERROR = "BL000"  # a file that cannot be read, decoded or parsed, or that exceeds a limit
UNUSED_SUPPRESSION = "BL001"  # a suppression comment that suppresses nothing

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2  # usage, configuration or internal error
