"""Django: the practitioners' pages. Views stay thin: they load through the
permission policy and change things only through the actions."""
