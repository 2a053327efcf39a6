"""The stack's services and the runtimes that start them."""
