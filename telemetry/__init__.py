"""What an operator sees of a running process: request ids, structured logs, Prometheus metrics.

The bottom layer: service, gateway and the command all use it; it imports none of them.
"""
