"""End to end and repository-wide: serving, databases, replicas, the README, the lock, layers."""
