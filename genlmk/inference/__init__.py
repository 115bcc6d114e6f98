"""Running trained models on footage."""
