"""Generated code as data: gast trees and their walks, node factories and annotations,
names, signatures, printing and compiling source, the compiler's entry points as the
runtime reaches them. Imports nothing of sourcediff but ``errors``."""
