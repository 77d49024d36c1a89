"""Case files: load them into timelines, replay them day by day, report."""

from cradle.scenarios.case import Case, Expectation
from cradle.scenarios.loader import FORMAT, CaseFileError, load_case, parse_case

__all__ = ["FORMAT", "Case", "CaseFileError", "Expectation", "load_case", "parse_case"]
