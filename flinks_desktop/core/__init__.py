"""The engine of Flinks Desktop. Nothing below this package imports Qt."""
