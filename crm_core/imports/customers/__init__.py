"""The customer domain: registered users of the learning platform, imported from its
export through the import engine (`CUSTOMERS`), and linked to the leads with the same phone.

A row is `new`, `updated` (listing which fields change), `unchanged` or rejected (every
reason with its row and column); the preview's `details["leads_to_link"]` counts the leads
that storing the good rows would link. A customer's identity is its platform user id. A
blank cell (or a placeholder such as "-" or "请选择") never erases a stored value: platform
exports often leave fields out, and a re-import of the same file changes nothing. Leads link
by phone (`link_leads_to_customers`) only while they have no customer yet, so a link set by
hand is never overwritten. Lead custom fields the importer sees are offered as extra
columns and written onto the leads linked to the row's customer that the importer reaches.

Customers belong to no owner or org unit: `manage_customers` is the whole access rule.
Phones leave this module only through `crm_core.leads.masking.display_phone`.
"""

from crm_core.imports.customers.spec import (
    CATEGORIES,
    CUSTOMER_FIELDS,
    DUPLICATE,
    FIELDS,
    CustomerRow,
    CustomerState,
    check_customers,
    read_customer,
)
from crm_core.imports.customers.write import CONCURRENT, link_leads_to_customers, write_customers
from crm_core.imports.engine import ImportSpec
from crm_core.platform.permissions import Permission

CUSTOMERS = ImportSpec(
    kind="customers",
    permission=Permission.MANAGE_CUSTOMERS,
    fields=FIELDS,
    read=read_customer,
    check=check_customers,
    write=write_customers,
    categories=CATEGORIES,
    audit_action="customer.import",
    audit_target="customer",
    key="platform_user_id",
    duplicate=DUPLICATE,
    key_param="user_id",
    custom_entity="lead",
    concurrent=CONCURRENT,
)

__all__ = [
    "CATEGORIES",
    "CUSTOMERS",
    "CUSTOMER_FIELDS",
    "CustomerRow",
    "CustomerState",
    "link_leads_to_customers",
]
