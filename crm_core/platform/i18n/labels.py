"""The label of each code the core stores (a stage, a pool state, a role, a flow reason ...):
code -> message, marked for extraction. `label_of(family, code)` reads it; a code without
a label (a business line's own stage, say) shows as itself."""

from __future__ import annotations

from crm_core.platform.i18n.markers import N_, NC_, NP_

LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "api_key.create": N_("API key created"),
        "api_key.revoke": N_("API key revoked"),
        "api_key.rotate": N_("API key rotated"),
        "business_line.create": N_("Business line added"),
        "business_line.update": N_("Business line changed"),
        "contact.unmask": N_("Full contact detail viewed"),
        "custom_field.create": N_("Custom field added"),
        "custom_field.update": N_("Custom field changed"),
        "customer.import": N_("Customer file imported"),
        "history.import": N_("History imported"),
        "lead.bulk_tag": N_("Leads tagged in bulk"),
        "lead.bulk_untag": N_("Tag removed from leads in bulk"),
        "lead.custom_fields": N_("Lead's custom fields changed"),
        "lead.export": N_("Leads exported"),
        "lead.import": N_("Lead file imported"),
        "lead.merge": N_("Leads merged"),
        "lead.tag": N_("Lead tagged"),
        "lead.untag": N_("Lead tag removed"),
        "lead.update": N_("Lead changed"),
        "learning.import": N_("Study activity imported"),
        "metadata.create": N_("Option added"),
        "metadata.update": N_("Option changed"),
        "opportunity.collaborator_access": N_("Collaborator's access changed"),
        "opportunity.collaborator_add": N_("Collaborator added"),
        "opportunity.collaborator_remove": N_("Collaborator removed"),
        "opportunity.custom_fields": N_("Opportunity's custom fields changed"),
        "order.pay": N_("Payment recorded"),
        "order.refund": N_("Order refunded"),
        "org_unit.create": N_("Unit created"),
        "org_unit.disable": N_("Unit disabled"),
        "org_unit.enable": N_("Unit enabled"),
        "org_unit.move": N_("Unit moved"),
        "org_unit.rename": N_("Unit renamed"),
        "org_unit.set_departure": N_("Unit departure handling set"),
        "org_unit.set_head": N_("Unit head set"),
        "org_unit.set_line": N_("Unit business line set"),
        "payment.import": N_("Payment file imported"),
        "phone.unmask": N_("Full phone number viewed"),
        "product.activate": N_("Product offered again"),
        "product.create": N_("Product added"),
        "product.deactivate": N_("Product deactivated"),
        "product.update": N_("Product changed"),
        "role.create": N_("Role created"),
        "role.delete": N_("Role deleted"),
        "role.update": N_("Role updated"),
        "roster.apply": N_("Roster applied"),
        "rule.create": N_("Rule created"),
        "rule.delete": N_("Rule deleted"),
        "rule.disable": N_("Rule paused"),
        "rule.enable": N_("Rule resumed"),
        "rule.move": N_("Rule moved"),
        "rule.update": N_("Rule changed"),
        "setting.update": N_("Setting changed"),
        "spend.delete": N_("Marketing spend removed"),
        "spend.set": N_("Marketing spend entered"),
        "user.change_password": N_("Password changed"),
        "user.create": N_("User created"),
        "user.reset_password": N_("Password reset"),
        "user.set_roles": N_("User roles changed"),
        "user.update": N_("User updated"),
    },
    "audit.target": {
        "api_key": N_("API key"),
        "business_line": N_("Business line"),
        "claim_rule": N_("Claim rule"),
        "custom_field": N_("Custom field"),
        "customer": N_("Customer"),
        "departure_rule": N_("Departure rule"),
        "dispatch_rule": N_("Dispatch rule"),
        "history_import": N_("History import"),
        "lead": N_("Lead"),
        "lead_import": N_("Lead import"),
        "learning_activity": N_("Study activity"),
        "marketing_spend": N_("Marketing spend"),
        "metadata_option": N_("Option"),
        "opportunity": NC_("audit.target", "Opportunity"),
        "org_unit": NC_("audit.target", "Unit"),
        "product": N_("Product"),
        "recycle_rule": N_("Recycle rule"),
        "renewal_rule": N_("Renewal rule"),
        "role": N_("Role"),
        "roster": N_("Roster"),
        "sales_order": N_("Order"),
        "setting": N_("Setting"),
        "user": N_("User"),
    },
    "board.next": {
        "none": N_("Not planned"),
        "overdue": N_("Overdue"),
        "today": N_("Due today"),
        "week": N_("Due within 7 days"),
    },
    "board.pipeline": {
        "new": N_("New business"),
        "renewal": N_("Renewal"),
    },
    "board.sort": {
        "amount": N_("Largest amount first"),
        "last_follow_up": N_("Longest without follow-up first"),
        "newest": N_("Newest first"),
        "next_follow_up": N_("Next follow-up, soonest first"),
    },
    "board.view": {
        "board": N_("Board"),
        "list": N_("List"),
    },
    "channel_group": {
        "offline": NC_("channel_group", "Offline"),
        "organic": NC_("channel_group", "Organic"),
        "other": NC_("channel_group", "Other"),
        "paid": NC_("channel_group", "Paid"),
        "referral": NC_("channel_group", "Referral"),
    },
    "collaborator.access": {
        "follow_up": N_("Read and follow up"),
        "read": NC_("collaborator.access", "Read"),
    },
    "customers.category": {
        "new": N_("New"),
        "rejected": NC_("customers.category", "Rejected"),
        "unchanged": N_("Unchanged"),
        "updated": N_("Updated"),
    },
    "customers.column": {
        "email": N_("E-mail"),
        "name": N_("Name"),
        "phone": N_("Phone"),
        "platform_user_id": N_("Platform user id"),
        "registered_at": N_("Registered at"),
    },
    "customers.mode": {
        "all_or_nothing": N_("All or nothing: store nothing if any row is rejected"),
        "good_rows": N_("Store the good rows, leave the rejected ones out"),
    },
    "dash.bucket": {
        "later": N_("Later"),
        "not_yet": N_("Not yet"),
        "within_1h": N_("Within 1 hour"),
        "within_24h": N_("4 to 24 hours"),
        "within_3d": N_("1 to 3 days"),
        "within_4h": N_("1 to 4 hours"),
    },
    "dash.col": {
        "average_order": N_("Average order"),
        "business_line": N_("Business line"),
        "campaign": N_("Campaign"),
        "cap": N_("Holding cap"),
        "channel": N_("Channel"),
        "cost_per_lead": N_("Cost per lead"),
        "count": N_("Count"),
        "created": NC_("dash.col", "Created"),
        "current_stage": N_("Stage now"),
        "day": N_("Day"),
        "from_first": N_("Of the cohort"),
        "from_previous": N_("From the stage before"),
        "held": N_("Held"),
        "lead": N_("Lead"),
        "leads": NC_("dash.col", "Leads"),
        "lost": NC_("dash.col", "Lost"),
        "net": N_("Net"),
        "orders": N_("Paid orders"),
        "owner": N_("Rep"),
        "reached": N_("Reached"),
        "refunds": N_("Refunds"),
        "revenue": N_("Revenue"),
        "roi": N_("ROI"),
        "rule": N_("Rule"),
        "share_of_cap": N_("Of the cap"),
        "spend": N_("Spend"),
        "stage": N_("Stage"),
        "unit": N_("Org unit"),
        "waited": N_("Assignment to first contact"),
        "win_rate": N_("Win rate"),
        "won": N_("Won"),
    },
    "dash.download": {
        "csv": N_("CSV"),
        "xlsx": N_("XLSX"),
    },
    "dash.split": {
        "business_line": N_("Business line"),
        "campaign": N_("Campaign"),
        "channel": N_("Channel"),
        "none": N_("Nothing"),
        "rep": N_("Rep"),
        "unit": N_("Org unit"),
    },
    "departure": {
        "error.target": N_("Unknown departure target {target}."),
        "public_pool": N_("to the public pool"),
        "redispatch": N_("back to dispatch"),
        "team_lead": N_("to the team lead"),
    },
    "desk.locked": {
        "false": N_("Not locked"),
        "true": N_("Locked"),
    },
    "export.column": {
        "campaign": N_("Campaign"),
        "channel": N_("Channel"),
        "city": N_("City"),
        "created_at": N_("Created at (UTC)"),
        "email": N_("Email"),
        "external_id": N_("External ID"),
        "id": N_("ID"),
        "name": N_("Name"),
        "opportunities": N_("Opportunities"),
        "phone": N_("Phone"),
        "qq": N_("QQ"),
        "region": N_("Region"),
        "tags": N_("Tags"),
        "wechat": N_("WeChat"),
    },
    "flow.reason": {
        "assign": N_("Assigned by hand"),
        "claim": N_("Claimed"),
        "departure": N_("Owner left"),
        "dispatch": N_("Dispatched"),
        "intake": N_("Entered"),
        "lock": NC_("flow.reason", "Locked"),
        "lost": NC_("flow.reason", "Lost"),
        "merge": N_("Merged"),
        "protect": N_("Protected"),
        "reactivate": NC_("flow.reason", "Re-activated"),
        "recycle": N_("Recycled"),
        "renewal": N_("Renewal opened"),
        "return": N_("Returned to pool"),
        "transfer": N_("Transferred"),
        "unlock": N_("Unlocked"),
        "won": N_("Won"),
    },
    "follow_up.channel": {
        "call": N_("Call"),
        "note": N_("Note"),
        "sms": N_("SMS"),
        "visit": N_("Visit"),
        "wechat": N_("WeChat"),
    },
    "history.column": {
        "amount": N_("Closed value"),
        "closed_at": N_("Closed"),
        "created_at": N_("Created (engaged)"),
        "external_id": N_("Opportunity id"),
        "name": N_("Customer"),
        "owner": N_("Owner"),
        "parent": N_("Parent unit"),
        "stage": N_("Stage"),
        "team": N_("Team"),
        "lead_id": N_("Lead id (the person's id in the source)"),
        "qualifier": N_("Who qualified"),
        "stage_before": N_("Stage before closing"),
        "lost_reason": N_("Lost reason"),
        "channel": N_("Channel"),
        "campaign": N_("Campaign"),
        "landing_page": N_("Landing page"),
        "phone": N_("Phone"),
        "email": N_("E-mail"),
        "business_line": N_("Business line"),
        "intention_level": N_("Intention level"),
    },
    # The history import's good rows, and what its runs counted (`engine.last_runs`).
    "history.category": {
        "imported": N_("Opportunities"),
        "already_imported": N_("Imported before"),
        "rejected": N_("Bad rows"),
        "users_created": N_("Users created"),
        "units_created": N_("Units created"),
    },
    "history_import.unowned": {
        "pool": N_("The public pool"),
        "dispatch": N_("Dispatch"),
    },
    "intention": {
        "A": N_("A (hot)"),
        "B": N_("B (warm)"),
        "C": N_("C (cool)"),
        "D": N_("D (none)"),
    },
    "job": {
        "dispatch": N_("Dispatch"),
        "error.lock_lost": N_(
            "Another worker took over this job's lock while the run was still working (its lease had run out), so nothing of this run was saved."
        ),
        "error.unknown": N_("Unknown job: {job}."),
        "recycle": N_("Recycling"),
        "renewals": N_("Renewals"),
        "status.busy": N_("Skipped: already running"),
        "status.done": N_("Done"),
        "status.failed": N_("Failed"),
        "warnings": N_("Recycle warnings"),
    },
    "job.status": {
        "busy": N_("Skipped: already running"),
        "done": N_("Done"),
        "failed": N_("Failed"),
    },
    "lead_card.field": {
        "campaign": N_("Campaign"),
        "channel": N_("Channel"),
        "city": N_("City"),
        "email": N_("Email"),
        "external_id": N_("External id"),
        "keyword": N_("Keyword"),
        "landing_page": N_("Landing page"),
        "name": N_("Name"),
        "phone": N_("Phone"),
        "qq": N_("QQ"),
        "region": N_("Region"),
        "wechat": N_("WeChat"),
    },
    "lead_import.count": {
        "added_line": N_("New business line"),
        "already_imported": N_("Imported before"),
        "collision": N_("Collisions"),
        "created": N_("New leads"),
        "duplicate": N_("Repeated in file"),
        "rejected": N_("Bad rows"),
        "unchanged": N_("Known, nothing new"),
        "updated": N_("Leads updated"),
    },
    "lead_import.field": {
        "business_line": N_("Business line"),
        "campaign": N_("Campaign"),
        "channel": N_("Channel"),
        "city": N_("City"),
        "closed_at": N_("Close date"),
        "created_at": N_("First contact date"),
        "email": N_("E-mail"),
        "external_id": N_("External id"),
        "intention_level": N_("Intention level"),
        "keyword": N_("Keyword"),
        "landing_page": N_("Landing page"),
        "lost_reason": N_("Lost reason"),
        "name": N_("Name"),
        "owner": N_("Owner"),
        "phone": N_("Phone"),
        "qq": N_("QQ"),
        "region": N_("Province"),
        "stage": N_("Stage or outcome"),
        "tags": N_("Tags"),
        "wechat": N_("WeChat"),
    },
    "lead_import.mode": {
        "all_or_nothing": N_("All or nothing: import only if every row is good"),
        "good_rows": N_("Import the good rows, skip the bad ones"),
    },
    "lead_import.status": {
        "done": N_("Imported"),
        "refused": N_("Refused"),
    },
    "leads.new": {
        "added_line": N_("This person was known already; the new business line was added."),
        "collision": N_(
            "This person is already followed up by {owner}; the inquiry was logged on their opportunity."
        ),
        "collision_colleague": N_(
            "This person is already followed up by a colleague; the inquiry was logged on their opportunity."
        ),
        "created": N_("Lead saved."),
        "duplicate": N_("This person is known already; nothing was added."),
        "keep": N_("Keep this lead for myself"),
        "keep_help": N_(
            "You found this person: the opportunities are yours at once instead of waiting for dispatch."
        ),
        "lines": N_("Business lines"),
        "phone_help": N_(
            "Mainland mobile numbers in any spelling; other countries with their + code."
        ),
        "save": N_("Save lead"),
    },
    "leads.sort": {
        "name": N_("By name"),
        "newest": NC_("leads.sort", "Newest first"),
        "oldest": N_("Oldest first"),
    },
    "learning.category": {
        "new": N_("New"),
        "older": N_("Older than stored"),
        "rejected": NC_("learning.category", "Rejected"),
        "unchanged": NC_("learning.category", "Unchanged"),
        "updated": N_("Updated"),
    },
    "learning.column": {
        "course": N_("Course"),
        "customer_id": N_("Customer id"),
        "last_studied_on": N_("Last study date"),
        "phone": N_("Phone"),
        "progress_pct": N_("Progress %"),
    },
    "learning.hint": {
        "finishing": N_("Nearly finished: a good moment to talk about the next course."),
        "idle": N_("Has not studied for a while: ask what is in the way."),
        "not_started": N_("Has not started yet: help them begin."),
        "steady": N_("Studying steadily: ask how it is going."),
    },
    "learning.mode": {
        "all_or_nothing": N_("Import nothing until every row is good"),
        "good_rows": N_("Import the good rows, leave out the rejected ones"),
    },
    "login_detail": {
        "active": N_("Disabled account"),
        "bad_old_password": N_("Wrong current password (account page)"),
        "bad_password": N_("Wrong password"),
        "on_leave": N_("Disabled account (on leave)"),
        "resigned": NC_("login_detail", "Resigned"),
        "right_password_in_burst": N_(
            "Right password, but failed attempts at the same moment locked the account"
        ),
        "unknown_user": N_("Unknown username"),
        "until": N_("Locked until {until} (UTC)"),
    },
    "login_event": {
        "failure": NC_("login_event", "Failed"),
        "locked": N_("Account locked"),
        "logout": N_("Signed out"),
        "refused_inactive": N_("Refused: disabled"),
        "refused_locked": N_("Refused: locked"),
        "success": N_("Signed in"),
    },
    "metadata.intro": {
        "business_line": N_(
            "The product families that teams, stages, rules and products belong to. Every lead enters one or more business lines."
        ),
        "campaign": N_(
            "Campaigns are matched whatever their case: a lead from `spring-2026` counts under `Spring-2026`. A campaign that arrives with a lead from a form or an import and is not listed yet is added here by itself."
        ),
        "channel": N_(
            "Where leads come from; the group decides where the channel counts in the channel reports."
        ),
        "follow_up_result": N_("What a logged contact came to, chosen when a follow-up is logged."),
        "intention_level": N_(
            "How close a person is to buying, set by the rep. A code is one letter."
        ),
        "lost_reason": N_("Why an opportunity was lost, chosen when it is closed as lost."),
        "stage": N_(
            "The stages of the sales process are fixed; their labels are what every page shows."
        ),
        "tag": N_(
            "The tags people may put on leads. Only this page adds a tag by hand; tags that arrive with leads from a form or an import join the catalogue by themselves."
        ),
    },
    "metadata.tab": {
        "business_line": N_("Business lines"),
        "campaign": N_("Campaigns"),
        "channel": N_("Channels"),
        "follow_up_result": N_("Follow-up results"),
        "intention_level": N_("Intention levels"),
        "lost_reason": N_("Lost reasons"),
        "stage": N_("Stage labels"),
        "tag": N_("Tags"),
    },
    "notice": {
        "collaborator.added": N_(
            "{name} added you as a collaborator on opportunity #{opportunity}."
        ),
        "collision.colleague": N_(
            "{by} entered a person your team already follows up (opportunity #{opportunity}); the inquiry was logged on it."
        ),
        # With a count, NOTICE_PLURALS words these; the labels here read for any count.
        "collision.colleagues": N_(
            "{by} brought in people your team already follows up ({count}); each inquiry was logged on its opportunity."
        ),
        "dispatch.received": N_("New opportunities for you: {count}."),
        "follow_up.overdue": N_("Planned follow-ups now overdue: {count}. See your workbench."),
        "order.discount_approved": N_(
            "{approver} approved the discount of order {order}: it can be paid."
        ),
        "order.discount_rejected": N_(
            "{approver} rejected the discount of order {order}: the order is cancelled."
        ),
        "order.discount_requested": N_(
            "{creator} asks you to approve {pct}% off on order {order} (opportunity #{opportunity})."
        ),
        "order.paid": N_("Order {order} was paid (¥{amount}): opportunity #{opportunity} is won."),
        "order.refunded": N_("Order {order} was refunded."),
        "recycle.team_warning": N_(
            "Opportunities of {unit} to be recycled within a day: {count}, more than {limit} at once. Check the rules or have them followed up."
        ),
        "recycle.warning": N_(
            "Opportunities of yours to be recycled soon: {count}. Follow them up."
        ),
        "renewal.opened": N_(
            "Renewal opportunities opened for you, their students' courses ending soon: {count}."
        ),
        "transfer.approved": N_(
            "Your transfer request for opportunity #{opportunity} was approved."
        ),
        "transfer.rejected": N_(
            "Your transfer request for opportunity #{opportunity} was rejected."
        ),
        "transfer.requested": N_("{name} asks to transfer opportunity #{opportunity}."),
    },
    "opportunity.tl.order": {
        "cancelled": N_("Order #{order} cancelled"),
        "created": N_("Order #{order} created, {amount}"),
        "paid": N_("Order #{order} paid, {amount}"),
        "refunded": N_("Order #{order} refunded, {amount}"),
    },
    "opportunity.trial.mark": {
        "cancelled": N_("Called off"),
        "done": N_("Attended"),
        "no_show": N_("Did not come"),
    },
    "orders.approval": {
        "approved": N_("Approved"),
        "none": N_("Not needed"),
        "rejected": NC_("orders.approval", "Rejected"),
        "requested": N_("Awaiting approval"),
    },
    "orders.status": {
        "cancelled": N_("Cancelled"),
        "paid": N_("Paid"),
        "pending": N_("Awaiting payment"),
        "refunded": N_("Refunded"),
    },
    "payment_import.category": {
        "already": N_("Recorded already"),
        "pay": N_("To record"),
        "rejected": N_("Bad rows"),
    },
    "payment_import.column": {
        "amount": N_("Amount"),
        "order_number": N_("Order number"),
        "paid_at": N_("Paid at"),
        "payment_ref": N_("Payment reference"),
    },
    "payment_import.mode": {
        "all_or_nothing": N_("Record nothing if any row is bad"),
        "good_rows": N_("Record the good rows, leave the bad ones out"),
    },
    "permission": {
        "approve_discounts": N_("Approve discounts"),
        "assign_opportunities": N_("Assign opportunities"),
        "claim_from_pool": N_("Claim from the public pool"),
        "create_leads": N_("Create leads"),
        "create_orders": N_("Create orders"),
        "export_leads": N_("Export leads"),
        "import_history": N_("Import history"),
        "import_leads": N_("Import leads"),
        "manage_customers": N_("Manage customers"),
        "manage_marketing_spend": N_("Manage marketing spend"),
        "manage_metadata": N_("Manage metadata"),
        "manage_org": N_("Manage the organisation"),
        "manage_products": N_("Manage products"),
        "manage_roles": N_("Manage roles"),
        "manage_rules": N_("Manage rules"),
        "manage_settings": N_("Manage settings"),
        "manage_users": N_("Manage users"),
        "merge_leads": N_("Merge leads"),
        "qa_inspect": N_("Quality inspection"),
        "receive_dispatch": N_("Receive dispatched opportunities"),
        "record_payments": N_("Record payments"),
        "run_jobs": N_("Run jobs"),
        "view_audit_log": N_("View the audit log"),
        "view_dashboards": N_("View dashboards"),
        "view_full_phone": N_("See full contact details (phone, e-mail, WeChat, QQ)"),
        "view_leads": N_("View leads"),
        "view_opportunities": N_("View opportunities"),
        "work_opportunities": N_("Work opportunities"),
    },
    "pool": {
        "closed": NC_("pool", "Closed"),
        "dormant": N_("Dormant"),
        "error.daily_cap": N_("You reached today's claim limit ({cap})."),
        "error.holding_cap": N_("You hold {cap} opportunities, your holding cap."),
        "error.too_many": N_("You may claim {left} more now: select fewer."),
        "owned": N_("Owned"),
        "public": N_("Public pool"),
        "unassigned": N_("Unassigned"),
    },
    "custom_field.kind": {
        "choice": N_("One choice"),
        "date": N_("Date"),
        "multi_choice": N_("Several choices"),
        "number": N_("Number"),
        "text": N_("Text"),
        "yes_no": N_("Yes / no"),
    },
    "role": {
        "admin": N_("Administrator"),
        "executive": N_("Executive"),
        "finance": N_("Finance"),
        "marketing": N_("Marketing"),
        "qa_inspector": N_("QA inspector"),
        "rep": N_("Sales rep"),
        "sales_manager": N_("Sales manager"),
        "team_lead": N_("Team lead"),
    },
    "roster.category": {
        "back_from_leave": N_("Back from leave"),
        "changed": N_("Changed"),
        "left": N_("Left"),
        "moved": NC_("roster.category", "Moved"),
        "new": NC_("roster.category", "New"),
        "on_leave": N_("On leave"),
        "rejoined": N_("Rejoined"),
        "skipped": N_("Skipped (left, no account)"),
        "unchanged": N_("Unchanged"),
    },
    "roster.change": {
        "name": N_("name"),
        "roles": N_("roles"),
        "status": N_("status"),
        "title": N_("title"),
        "unit": N_("unit"),
    },
    "roster.column": {
        "date": N_("Date"),
        "employee_no": N_("Employee number"),
        "name": N_("Name"),
        "status": N_("Status"),
        "title": N_("Title"),
        "unit": N_("Unit"),
    },
    "roster.status": {
        "active": N_("Active"),
        "on_leave": N_("On leave"),
        "resigned": N_("Resigned"),
    },
    "roster.target": {
        "public_pool": N_("Public pool"),
        "redispatch": N_("Re-dispatch"),
        "team_lead": N_("Team lead"),
    },
    "rule": {
        "error.bad_time": N_("{field}: “{value}” is not a time like 09:30."),
        "error.hours_empty": N_(
            "The hours start and end at the same time: the rule would never run."
        ),
        "error.hours_half": N_("Give both the start and the end of the hours, or neither."),
        "error.kind": N_("Unknown rule kind: {kind}."),
        "error.line_unknown": N_("The business line does not exist or is closed."),
        "error.name": N_("Give the rule a name."),
        "error.no_active_reps": N_(
            "{field}: {unit} has no active reps: the rule could give nothing."
        ),
        "error.no_skill": N_("No active target rep has the skill tag “{tag}”."),
        "error.no_target": N_(
            "Choose a target unit or named reps: the rule has nobody to give to."
        ),
        "error.no_team": N_("Choose the team that recycled opportunities go to."),
        "error.not_a_list": N_("{field}: expected a list of values."),
        "error.not_a_number": N_("{field}: expected a whole number."),
        "error.priority_taken": N_(
            "Priority {priority} is already used by rule “{rule}” on the same business line: choose another so the order is clear."
        ),
        "error.rep_inactive": N_("These reps are not active: {names}."),
        "error.rep_unknown": N_("Reps not found or outside your scope: {ids}."),
        "error.too_large": N_("{field}: must be at most {maximum}."),
        "error.too_small": N_("{field}: must be at least {minimum}."),
        "error.unit_required": N_("Choose the unit the rule belongs to."),
        "error.unit_unknown": N_(
            "{field}: unit {id} does not exist, is closed or is outside your scope."
        ),
        "error.unknown_choice": N_("{field}: “{value}” is not one of the choices."),
        "error.warn_too_long": N_(
            "The warning must come before the recycle (trigger after {after})."
        ),
    },
    "rule.error": {
        "bad_time": N_("{field}: “{value}” is not a time like 09:30."),
        "hours_empty": N_("The hours start and end at the same time: the rule would never run."),
        "hours_half": N_("Give both the start and the end of the hours, or neither."),
        "kind": N_("Unknown rule kind: {kind}."),
        "line_unknown": N_("The business line does not exist or is closed."),
        "name": N_("Give the rule a name."),
        "no_active_reps": N_("{field}: {unit} has no active reps: the rule could give nothing."),
        "no_skill": N_("No active target rep has the skill tag “{tag}”."),
        "no_target": N_("Choose a target unit or named reps: the rule has nobody to give to."),
        "no_team": N_("Choose the team that recycled opportunities go to."),
        "not_a_list": N_("{field}: expected a list of values."),
        "not_a_number": N_("{field}: expected a whole number."),
        "priority_taken": N_(
            "Priority {priority} is already used by rule “{rule}” on the same business line: choose another so the order is clear."
        ),
        "rep_inactive": N_("These reps are not active: {names}."),
        "rep_unknown": N_("Reps not found or outside your scope: {ids}."),
        "too_large": N_("{field}: must be at most {maximum}."),
        "too_small": N_("{field}: must be at least {minimum}."),
        "unit_required": N_("Choose the unit the rule belongs to."),
        "unit_unknown": N_(
            "{field}: unit {id} does not exist, is closed or is outside your scope."
        ),
        "unknown_choice": N_("{field}: “{value}” is not one of the choices."),
        "warn_too_long": N_("The warning must come before the recycle (trigger after {after})."),
    },
    "rules.action": {
        "delete": N_("Delete"),
        "down": N_("Move down"),
        "edit": N_("Edit"),
        "pause": N_("Pause"),
        "resume": N_("Resume"),
        "up": N_("Move up"),
    },
    "rules.assign_to": {
        "dispatch": N_("Dispatch"),
        "owner": N_("The owner of the win (dispatch if they are no longer active)"),
    },
    "rules.change": {
        "create": N_("Created"),
        "delete": N_("Deleted"),
        "disable": NC_("rules.change", "Paused"),
        "enable": N_("Resumed"),
        "move": N_("Moved"),
        "update": N_("Edited"),
    },
    "rules.count": {
        "assigned": NC_("rules.count", "Assigned"),
        "considered": N_("Waiting"),
        "dormant": N_("To dormant"),
        "follow_ups_overdue": N_("Overdue follow-ups told"),
        "instalments_overdue": N_("Overdue instalments told"),
        "managers_told": N_("Managers told of a big recycle"),
        "matched": N_("Matched"),
        "no_room": N_("No rep with room"),
        "no_rule": N_("No rule matched"),
        "opened": N_("Renewals opened"),
        "recycled": N_("Recycled"),
        "to_dispatch": N_("To dispatch"),
        "to_owner": N_("To the owner"),
        "warned": N_("Warned"),
    },
    "rules.done": {
        "deleted": N_("Rule “{name}” deleted."),
        "moved": N_("Rule “{name}” moved."),
        "pause": N_("Rule “{name}” paused."),
        "resume": N_("Rule “{name}” resumed."),
    },
    "rules.field": {
        "after": NC_("rules.field", "After"),
        "assign_to": N_("The renewal goes to"),
        "business_line_id": N_("Business line"),
        "campaign_prefix": NC_("rules.field", "Campaign starts with"),
        "channels": N_("Channels"),
        "cooldown_days": N_("Re-claim cool-down (days)"),
        "daily_claims": N_("Claims per rep per day"),
        "days_before": N_("Days before the course ends"),
        "dormant_after": N_("Dormant after this many recycles"),
        "enabled": N_("Running"),
        "exempt_from_stage": N_("Exempt from stage on"),
        "exempt_intentions": N_("Exempt intention levels"),
        "holding_cap": N_("Holding cap"),
        "hours_from": N_("Active from"),
        "hours_to": N_("Active until"),
        "intention_levels": N_("Intention levels"),
        "name": NC_("rules.field", "Name"),
        "no_return_days": N_("Never back to a rep who lost it within (days)"),
        "org_unit_id": N_("Belongs to unit"),
        "priority": N_("Priority"),
        "regions": N_("Regions"),
        "skill_required": N_("Only reps with the skill tag"),
        "skill_tag": N_("Skill tag"),
        "strategy": N_("Strategy"),
        "target": N_("Goes to"),
        "target_unit_id": N_("Target unit (with everything below)"),
        "target_user_ids": N_("Named reps"),
        "team_unit_id": N_("Team"),
        "trigger": N_("Recycle when"),
        "warn_days": N_("Warn the owner (days ahead)"),
    },
    "rules.jobs.run": {
        "dispatch": N_("Run dispatch now"),
        "recycle": N_("Run recycling now"),
        "renewals": N_("Open due renewals now"),
        "warnings": N_("Send warnings now"),
    },
    "rules.jobs.trigger": {
        "manual": N_("By hand"),
        "worker": N_("Schedule"),
    },
    "rules.kind": {
        "claim": N_("Claiming"),
        "departure": N_("Departure"),
        "dispatch": N_("Dispatch"),
        "recycle": N_("Recycling"),
        "renewal": N_("Renewal"),
    },
    "rules.kind_intro": {
        "claim": N_(
            "How many opportunities a rep may claim from the public pool per day, how many they may hold, and how long before they may re-claim what was recycled from them. The rule of the nearest unit applies."
        ),
        "departure": N_("Where the open opportunities of a rep who leaves go, per unit."),
        "dispatch": N_(
            "Each waiting opportunity goes by the first rule that matches it; what matches nothing keeps waiting with the reason shown below."
        ),
        "recycle": N_(
            "Owned opportunities that their owner does not work are taken back; owners are warned a few days ahead."
        ),
        "renewal": N_(
            "Some days before a student's course ends (the latest paid, not refunded order of a win), a renewal opportunity for the same lead and business line is opened: to the owner of the win, or to dispatch. A win is renewed once; a lead with an open opportunity on the line gets none."
        ),
    },
    "rules.list.order": {
        "claim": N_("The nearest unit's rule applies to a rep; among one unit's rules, the first."),
        "departure": N_("The rule of the leaver's unit applies."),
        "dispatch": N_("In the order they are tried: the first rule that matches wins."),
        "recycle": N_("In the order they run."),
        "renewal": N_("In the order they run: a win goes by the first rule that finds it due."),
    },
    "rules.strategy": {
        "least_loaded": N_("Least loaded"),
        "round_robin": N_("Round robin"),
        "weighted": N_("Weighted (per-rep weight)"),
    },
    "rules.target": {
        "public_pool": N_("Public pool"),
        "redispatch": N_("Re-dispatch (not to previous owners)"),
        "team": N_("A named team's pool"),
    },
    "rules.trigger": {
        "no_first_follow_up": N_("No first follow-up (hours after assignment)"),
        "no_follow_up": N_("No follow-up (days)"),
        "no_stage_progress": N_("No stage progress (days)"),
        "not_won": N_("Not won (days after assignment)"),
    },
    "scope": {
        "all": N_("Everything"),
        "custom": N_("Chosen units"),
        "self": N_("Own rows only"),
        "subtree": N_("My unit and everything below"),
        "team": N_("My team"),
    },
    "settings": {
        "claim.default_cooldown_days": N_(
            "Days before a rep may re-claim what was recycled from them (without a claim rule)"
        ),
        "claim.default_daily_claims": N_("Claims per rep per day (without a claim rule)"),
        "company.utc_offset_hours": N_("Company time zone (hours from UTC)"),
        "dispatch.batch_size": N_("Most opportunities one dispatch run handles"),
        "error.max": N_("{setting}: must be at most {maximum}."),
        "error.min": N_("{setting}: must be at least {minimum}."),
        "error.type": N_("{setting}: wrong type of value."),
        "error.unknown": N_("Unknown setting {setting}."),
        "export.max_rows": N_("Most leads in one export"),
        "intro": N_("Settings apply to everyone at once."),
        "login.cookie_expiry_days": N_("Sign in again after (days), however active"),
        "login.lock_minutes": N_("Lock duration (minutes)"),
        "login.max_failed_attempts": N_("Failed sign-ins before the account locks"),
        "login.session_idle_minutes": N_("Sign out after this many minutes without activity"),
        "recycle.warn_over": N_(
            "Tell a team's managers a day ahead when recycling takes back more than this many of the team's opportunities (0: never)"
        ),
        "save": N_("Save settings"),
        "saved": N_("Settings saved."),
        "title": N_("Settings"),
        "worker.dispatch_seconds": N_("Dispatch runs every (seconds)"),
        "worker.recycle_minutes": N_("Recycling runs every (minutes)"),
        "worker.renewal_minutes": N_("Renewals run every (minutes)"),
        "worker.warning_minutes": N_("Recycle warnings run every (minutes)"),
    },
    "stage": {
        "contacted": N_("Contacted"),
        "error.backwards": N_(
            "Stages move forward from “{stage}”; only a manager may move an opportunity back."
        ),
        "error.lost_reason": N_("Choose why the opportunity was lost."),
        "error.lost_reason_unknown": N_("“{reason}” is not one of the lost reasons."),
        "error.same": N_("The opportunity is already at this stage."),
        "error.trial_date": N_("A booked trial needs its date and time."),
        "error.unknown": N_("“{stage}” is not a stage you can choose."),
        "error.won_by_order": N_(
            "An opportunity is won by a paid order, not by choosing the stage."
        ),
        "lost": N_("Lost"),
        "new": NC_("stage", "New"),
        "qualified": N_("Qualified"),
        "trial_booked": N_("Trial booked"),
        "trial_done": N_("Trial done"),
        "won": NC_("stage", "Won"),
    },
    "timeline.kind": {
        "call": NC_("timeline.kind", "Call"),
        "flow": N_("Flow"),
        "follow_up": N_("Follow-up"),
        "learning": N_("Study"),
        "order": N_("Order"),
        "stage": N_("Stage"),
        "trial": N_("Trial lesson"),
    },
    "transfer": {
        "error.decided": N_("This request has been decided already."),
        "error.not_owned": N_("Only an owned opportunity can be transferred."),
        "error.pending": N_("A transfer of this opportunity is already waiting for a decision."),
        "error.reason": N_("Say why the opportunity should move."),
        "error.reason_long": N_("The reason is longer than {maximum} characters."),
        "error.same_owner": N_("Give it to someone other than the rep who asked."),
        "error.suggested": N_("Suggest a colleague of your own team who receives opportunities."),
    },
    "trial.status": {
        "booked": N_("Trial booked"),
        "cancelled": N_("Trial called off"),
        "done": N_("Trial attended"),
        "no_show": N_("Trial missed"),
    },
    "user_status": {
        "active": N_("Active"),
        "on_leave": N_("On leave"),
        "resigned": N_("Resigned"),
    },
    "waiting": {
        "departure": NC_("waiting", "Owner left"),
        "no_room": N_("Rule “{rule}” found no rep with room"),
        "no_rule": N_("No dispatch rule matches"),
        "none": N_("Not looked at yet"),
        "reactivated": N_("Re-activated"),
        "recycled": N_("Recycled for re-dispatch"),
        "renewal": N_("Renewal, given to dispatch by its rule"),
        "renewal_owner_gone": N_("Renewal whose win's owner is no longer active"),
    },
}

# Notices whose words follow their count (`params["count"]`): shown with `ntranslate`
# instead of LABELS["notice"], so one opportunity does not read as "1 opportunities".
# The lead import runs on the import engine as the spec kind "leads" (also the kind its value
# mappings are remembered under): the engine's page flow names its fields and categories by
# the families `leads.column` and `leads.category`, the lead import's own.
LABELS["leads.column"] = LABELS["lead_import.field"]
LABELS["leads.category"] = LABELS["lead_import.count"]

NOTICE_PLURALS: dict[str, tuple[str, str]] = {
    "collision.colleagues": NP_(
        "{by} brought in {n} person your team already follows up; the inquiry was logged on the opportunity.",
        "{by} brought in {n} people your team already follows up; each inquiry was logged on its opportunity.",
    ),
    "dispatch.received": NP_(
        "You received {n} new opportunity.", "You received {n} new opportunities."
    ),
    "recycle.warning": NP_(
        "{n} of your opportunities will be recycled soon: follow it up.",
        "{n} of your opportunities will be recycled soon: follow them up.",
    ),
    "follow_up.overdue": NP_(
        "{n} follow-up you planned is now overdue: see your workbench.",
        "{n} follow-ups you planned are now overdue: see your workbench.",
    ),
    "recycle.team_warning": NP_(
        "Recycling will take back {n} opportunity of {unit} within a day, more than {limit} at once. Check the rules or have it followed up.",
        "Recycling will take back {n} opportunities of {unit} within a day, more than {limit} at once. Check the rules or have them followed up.",
    ),
    "renewal.opened": NP_(
        "{n} renewal opportunity was opened for you: the student's course ends soon.",
        "{n} renewal opportunities were opened for you: their students' courses end soon.",
    ),
}

# The SMS platform's codes.
_SMS_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "sensitive_word.add": N_("Sensitive words added"),
        "sensitive_word.remove": N_("Sensitive word removed"),
        "sms.opt_in": N_("Lead takes SMS again"),
        "sms.opt_out": N_("Lead opted out of SMS"),
        "sms.provider": N_("SMS provider changed"),
        "sms.send": N_("SMS sent"),
        "sms_template.approve": N_("SMS template approved"),
        "sms_template.create": N_("SMS template added"),
        "sms_template.reject": N_("SMS template rejected"),
        "sms_template.retire": N_("SMS template retired"),
        "sms_template.submit": N_("SMS template submitted"),
        "sms_template.update": N_("SMS template changed"),
    },
    "audit.target": {
        "sensitive_word": N_("Sensitive word"),
        "sms_template": N_("SMS template"),
    },
    "permission": {
        "approve_sms": N_("Approve SMS templates"),
        "bulk_sms": N_("Send SMS to many leads"),
        "manage_sms": N_("Manage SMS templates and sensitive words"),
        "send_sms": N_("Send SMS"),
    },
    "job": {"sms": N_("SMS delivery")},
    "settings": {
        "worker.sms_seconds": N_("SMS delivery runs every (seconds)"),
        "sms.max_per_send": N_("Most leads one send reaches"),
        "sms.per_lead_per_day": N_("Messages one lead gets a day at most"),
        "sms.per_minute": N_("Messages handed to the provider per minute"),
        "sms.price_per_segment": N_("Price of one message segment"),
        "sms.reminder_hour": N_("Trial reminders go out from (hour, the day before)"),
        "sms.reminder_template_id": N_("Trial reminder template"),
        "sms.signature": N_("Signature before every message"),
    },
    "sms.provider": {
        "demo": N_("Demo (sends nothing, reports delivered)"),
        "http": N_("HTTP provider"),
        "none": N_("Off (messages wait)"),
    },
    "sms.purpose": {
        "marketing": N_("Marketing"),
        "notice": N_("Notice"),
    },
    "sms.state": {
        "approved": N_("Approved"),
        "draft": N_("Draft"),
        "pending": N_("Waiting for approval"),
        "rejected": N_("Rejected"),
        "retired": N_("Retired"),
    },
    "sms.status": {
        "delivered": N_("Delivered"),
        "failed": N_("Failed"),
        "queued": N_("Queued"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
    },
}
for _family, _labels in _SMS_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)

# Quality inspection's codes.
_QA_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "qa_checklist.active": N_("QA checklist retired or restored"),
        "qa_checklist.create": N_("QA checklist added"),
        "qa_plan.create": N_("Sampling plan added"),
        "qa_plan.active": N_("Sampling plan paused or resumed"),
        "qa_plan.run": N_("Sampling plan run"),
        "qa_review.appeal": N_("QA score appealed"),
        "qa_review.decide": N_("QA appeal decided"),
        "qa_review.score": N_("Follow-up scored by QA"),
    },
    "audit.target": {
        "qa_checklist": N_("QA checklist"),
        "qa_plan": N_("Sampling plan"),
        "qa_review": N_("QA review"),
    },
    "permission": {"qa_decide": N_("Decide QA appeals")},
    "job": {"qa": N_("QA sampling")},
    "rules.jobs.run": {"qa": N_("Draw QA samples now")},
    "rules.count": {
        "added": N_("New in the QA queue"),
        "drawn": N_("Drawn"),
        "flagged": N_("Flagged"),
        "paused": N_("Plans paused"),
        "plans": N_("Plans drawn"),
    },
    "settings": {"worker.qa_minutes": N_("QA sampling looks for an ended week every (minutes)")},
    "metadata.tab": {"qa_violation": N_("QA violation tags")},
    "metadata.intro": {
        "qa_violation": N_(
            "What an inspector may mark on a scored call or note (a false promise, rudeness ...)."
        )
    },
    "notice": {
        "qa.changed": N_(
            "Your appeal on QA review #{review} was granted: the score is now {total}."
        ),
        "qa.scored": N_(
            "Quality inspection scored your follow-up: {total} points (review #{review})."
        ),
        "qa.upheld": N_(
            "Your appeal on QA review #{review} was turned down: the score stays {total}."
        ),
    },
    "qa.status": {
        "appealed": N_("Under appeal"),
        "decided": N_("Appeal decided"),
        "pending": N_("Waiting"),
        "scored": N_("Scored"),
    },
    "qa.reason": {
        "flag": N_("Sensitive words"),
        "sample": N_("Sampled"),
    },
    "qa.filter": {
        "business_line_id": N_("Business line"),
        "channel": N_("Channel"),
        "lost_only": N_("Lost opportunities only"),
        "max_duration_s": N_("Calls shorter than (seconds)"),
        "new_rep_days": N_("Reps in their first days (days)"),
        "org_unit_id": N_("Unit"),
    },
}
for _family, _labels in _QA_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)

# The call centre's codes.
_CALL_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "call.start": N_("Call started from a seat"),
        "call_line.save": N_("Call line saved"),
        "call_seat.save": N_("Call seat saved"),
        "calls.provider": N_("Call-centre provider changed"),
    },
    "audit.target": {
        "call_line": N_("Call line"),
        "call_seat": N_("Call seat"),
    },
    "permission": {"manage_call_center": N_("Manage the call centre")},
    "calls.provider": {
        "demo": N_("Demo (rings nobody)"),
        "http": N_("HTTP provider"),
        "none": N_("Off (no click-to-call)"),
    },
    "call.state": {
        "connected": N_("Connected"),
        "dialling": N_("Dialling"),
        "ended": N_("Ended"),
        "failed": N_("Failed"),
        "ringing": N_("Ringing"),
    },
    "call.result": {
        "answered": N_("Answered"),
        "busy": N_("Busy"),
        "failed": N_("Failed"),
        "no_answer": N_("No answer"),
        "rejected": N_("Rejected"),
    },
}
for _family, _labels in _CALL_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)
_CALL_LABELS_2: dict[str, dict[str, str]] = {
    "audit.action": {"calls.import": N_("Call records imported")},
    "audit.target": {"call_record": N_("Call record")},
    "call_import.category": {
        "already": N_("Recorded already"),
        "record": N_("To record"),
        "rejected": N_("Bad rows"),
    },
    "call_import.column": {
        "answered_at": N_("Answered at"),
        "call_id": N_("Call id"),
        "callee": N_("Customer number"),
        "caller": N_("Caller number"),
        "duration": N_("Duration (seconds)"),
        "ended_at": N_("Ended at"),
        "recording_url": N_("Recording"),
        "result": N_("Result"),
        "seat": N_("Seat"),
        "started_at": N_("Started at"),
        "summary": N_("Summary"),
    },
}
for _family, _labels in _CALL_LABELS_2.items():
    LABELS.setdefault(_family, {}).update(_labels)

_RANKING_LABELS: dict[str, dict[str, str]] = {
    "ranking.metric": {
        "call_minutes": N_("Call minutes"),
        "calls": N_("Calls"),
        "fast_contacts": N_("Contacted within 24 h"),
        "follow_ups": N_("Follow-ups"),
        "revenue": N_("Revenue"),
        "trials": N_("Trials booked"),
        "wins": N_("Wins"),
    },
    "ranking.period": {"day": N_("Today"), "month": N_("This month"), "week": N_("This week")},
}
for _family, _labels in _RANKING_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)

# Sales targets (业绩目标).
_TARGET_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "target.import": N_("Targets imported"),
        "target.set": N_("Target set"),
    },
    "audit.target": {"sales_target": N_("Sales target")},
    "permission": {"manage_targets": N_("Set sales targets")},
    "target.metric": {
        "new_students": N_("New paid students"),
        "revenue": N_("Revenue"),
        "won": N_("Won opportunities"),
    },
    "target.period": {"month": N_("Month"), "quarter": N_("Quarter")},
    "target.source": {"form": N_("By hand"), "import": N_("Import")},
    "target_import.column": {
        "metric": N_("Metric"),
        "month": N_("Month"),
        "rep": N_("Person (employee no. or name)"),
        "unit": N_("Org unit (name or path)"),
        "value": N_("Target value"),
    },
    "target_import.category": {
        "created": N_("New targets"),
        "rejected": N_("Bad rows"),
        "unchanged": N_("Unchanged"),
        "updated": N_("Changed targets"),
    },
}
for _family, _labels in _TARGET_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)

from crm_core.platform.i18n.work_chat_labels import WORK_CHAT_LABELS  # noqa: E402

for _family, _labels in WORK_CHAT_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)

from crm_core.platform.i18n.instalment_labels import (  # noqa: E402
    INSTALMENT_LABELS,
    INSTALMENT_NOTICE_PLURALS,
)

for _family, _labels in INSTALMENT_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)
NOTICE_PLURALS.update(INSTALMENT_NOTICE_PLURALS)

from crm_core.platform.i18n.approval_labels import APPROVAL_LABELS  # noqa: E402

for _family, _labels in APPROVAL_LABELS.items():
    LABELS.setdefault(_family, {}).update(_labels)
