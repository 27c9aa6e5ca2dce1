"""Model artifacts: formats and signatures, loading, ONNX scoring, serving figures, perturbations."""
