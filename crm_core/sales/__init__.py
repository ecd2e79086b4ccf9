"""The sales workbench: follow-ups, stages, trial lessons, transfer requests, the workbench,
the opportunity board, the opportunity and lead cards, and home."""
