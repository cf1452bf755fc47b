"""Which code paths a workflow takes where the code changed while histories were in flight.

A change to a workflow's commands goes through `workflow.patched(id)`: histories recorded before it replay
the old path. A patch costs every new workflow a marker and a search-attribute upsert (a visibility write on
the server; with the three patches below, about a seventh of the Temporal server's CPU per approval).

ApprovalWorkflowV2 (release 0.2.0) was introduced after the patches below, so none of its runs ever took the
old paths: for it they are always on and record nothing. Histories of the earlier type, ApprovalWorkflow, keep
their markers and replay as before. A patch added from now on is not in the set and goes through
`workflow.patched` for every type, as usual.
"""

from __future__ import annotations

from temporalio import workflow

PATCHES_BEFORE_V2 = frozenset({"appends-as-local-activities", "compliance-duties", "duties-from-first-day"})
TYPES_WITH_EARLIER_HISTORIES = frozenset({"ApprovalWorkflow", "ComplianceWorkflow"})


def patched(patch_id: str) -> bool:
    """`workflow.patched`, except for a patch that predates the running workflow's type: on, with no marker."""
    if patch_id in PATCHES_BEFORE_V2 and workflow.info().workflow_type not in TYPES_WITH_EARLIER_HISTORIES:
        return True
    return workflow.patched(patch_id)
