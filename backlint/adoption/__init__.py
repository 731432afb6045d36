"""Adopting backlint in an existing codebase: baselines, changed files, shards, unused and bulk suppressions."""
