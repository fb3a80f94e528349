"""Sheet events: subscriptions, delivery, the watermark, the stream, across replicas."""
