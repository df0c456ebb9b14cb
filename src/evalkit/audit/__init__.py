"""The publication audit: ``evalkit audit DIR`` fails on personal data and disclosure problems.

Re-exports the public API by name; no logic lives here.
"""

from __future__ import annotations

from evalkit.audit.patterns import FindingKind, scan_text
from evalkit.audit.publish import strip_for_publication
from evalkit.audit.scan import AuditResult, Finding, audit_file, audit_reports, main_audit

__all__ = ["AuditResult", "Finding", "FindingKind", "audit_file", "audit_reports", "main_audit", "scan_text",
           "strip_for_publication"]
