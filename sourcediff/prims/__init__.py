"""The primitive table: one declaration per primitive (``defrule``, ``defnondiff``,
``deffacts``, ``defhelper``) with its derivative and facts, and the list of what is
supported."""
