"""The gRPC edge: servicer, server, readiness."""
