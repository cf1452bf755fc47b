"""The shared kernel the capability packages build on."""
