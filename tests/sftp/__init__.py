"""SFTP delivery."""
