"""The clearing house: order book, matching, market rules and LOBSTER replay."""
