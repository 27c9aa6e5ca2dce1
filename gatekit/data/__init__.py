"""The data plane: reading inputs, labels, logical types, hashing, and the run's loaded inputs."""
