"""Reporters render a :class:`~bncheck.report.Report`; they never see loaders or graphs."""
