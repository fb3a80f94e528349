"""Open Dental's vocabulary: enums and .NET cultures."""
