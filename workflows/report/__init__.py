"""The report and the validation files: context, sentences, figures, rendering, outputs."""
