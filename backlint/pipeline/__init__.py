"""Files to findings: discovery, reading, the per-file stage, the walk, the cache, the project pass, filters."""
