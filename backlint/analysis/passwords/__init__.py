"""The password flow: tables (tables.py), the per-file flow analysis (flow.py and the frame's parts),
the facts it exposes (facts.py) and the autofixes the rules offer (fixes.py)."""
