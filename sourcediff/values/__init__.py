"""Values at run time: duck arrays, containers and their leaves, ``stop_gradient``
markers, lifting cotangents onto containers."""
