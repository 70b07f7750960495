"""The front end: parse a function's source, resolve its names, fence out what is not
supported, and normalise it to one operation per statement with flat control flow."""
