"""The `sheets` command and the composition root: the one place that wires the
service layer and the gateway together."""
