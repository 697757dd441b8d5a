"""Distribution files: their names, archives and core metadata (pure)."""
