"""Study reports: ``tuner report`` renders studies of a trial store as one self-contained
HTML page (plus a markdown summary) with costmodel's report machinery.

    from tuner.reporting import study_report
    doc = study_report("sqlite:///tuning.db", ["mm-tiles"])      # or all=True
    costmodel.report.write_report(doc, "report.html")
"""

from tuner.reporting.build import study_report
from tuner.reporting.data import StudyView, TrialView, load_studies

__all__ = ["StudyView", "TrialView", "load_studies", "study_report"]
