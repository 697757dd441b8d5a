"""Building and checking an index directory: scan, plan, read, write pages, commit (pure)."""
