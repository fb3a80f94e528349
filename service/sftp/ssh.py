"""asyncssh, imported once, here."""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# asyncssh names cryptography's DSA classes in annotations evaluated at import, and
# cryptography deprecates every access to them: five warnings on every start, about
# an algorithm the service never offers (OpenSSH dropped ssh-dss too). This is the
# one place asyncssh is imported; everything else takes it from here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "DSA is deprecated", CryptographyDeprecationWarning)
    import asyncssh as asyncssh
from asyncssh.encryption import get_default_encryption_algs

__all__ = ["asyncssh", "get_default_encryption_algs"]
