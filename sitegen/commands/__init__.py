"""The commands: the command line (`cli`), `init` and `new` (`scaffold`), `check` and its
output formats, and the progress bar. The only layer that prints, reads arguments or exits."""
