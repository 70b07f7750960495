"""The optimiser: shape specialisation, CSE and copy propagation, dead code, contractions,
rematerialisation, in-place updates and freeing temporaries."""
