"""Where an index lives and how it travels: locations, probes, serving, publishing (pure)."""
