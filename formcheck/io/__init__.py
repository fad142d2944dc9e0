"""Input and output: the only modules that touch files, cameras or the model file."""
