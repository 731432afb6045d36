"""One module per rule family, one class per rule; found by backlint/pipeline/registry.py, never listed by hand."""
