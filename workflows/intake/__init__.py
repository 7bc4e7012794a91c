"""Reading a wave's file: the private copy, the CSV grammar, the raw folder."""
