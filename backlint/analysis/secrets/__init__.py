"""Secret detection: the detectors (each an Analysis recording facts, facts.py), where a literal
sits (slots.py), and every secret span of a file for the output layer (spans.py)."""
