"""The lead library (名片库): one intake for every entrance, search, edits, merges, tags,
masking and export, customers, and study activity read as talking points."""
