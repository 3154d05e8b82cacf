"""Pure plot functions: data and parameters in, a Figure out."""
