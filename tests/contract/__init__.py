"""The contract: descriptors, the error tree, request rules, the key check."""
