"""Demo data and sheet definitions imported from XML."""
