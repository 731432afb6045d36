"""The bottom layer: the rule API, results, the catalog and its knowledge tables, configuration, globs."""
