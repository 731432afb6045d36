"""SQL built from strings: the analysis behind the BL1xx rules (start at analysis.py)."""
