"""`vigil demo`: Vigil's lifecycle on the shipped flights sample. `story` builds the demo home and tells
each step; `traffic` is its live part against a running daemon."""
