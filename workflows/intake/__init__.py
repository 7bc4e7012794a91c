"""Reading a wave's file: the private copy, its format, the XLSX and SPSS conversion, the platforms' headers, the CSV
grammar, the raw folder."""
