"""The pipeline that runs the passes (``driver``) and the caches of what it compiles
(``compiled``)."""
