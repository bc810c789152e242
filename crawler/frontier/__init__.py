"""The breadth-first frontier: in one process (local) or shared through Redis (shared)."""
