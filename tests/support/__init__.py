"""What tests share: servers, stacks, databases, certificates, Open Dental's files."""

from pathlib import Path

# The repository's root.
ROOT = Path(__file__).resolve().parents[2]
