"""Quality inspection (质检工作台): checklists, sampling plans, sensitive-word flags, the
inspector's queue and scoring, the rep's appeal and its decision, weekly scores."""
