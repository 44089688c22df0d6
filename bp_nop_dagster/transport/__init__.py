"""What both API clients share: the error taxonomy, the one retry policy, and safe HTTP plumbing."""
