"""Texts of the scope fixes the scope matrix led to: refusals that cannot be avoided (one
lead per number, one open opportunity per line) but no longer name a row outside the
reader's scope."""

EN = {
    "lead_card.error.phone_taken_elsewhere": "This number belongs to a lead outside your reach. Ask a manager who reaches both leads to merge them.",
    "lead_card.error.external_id_taken_elsewhere": "This external id belongs to a lead outside your reach. Ask a manager who reaches both leads to merge them.",
    "renewal.error.line_open_elsewhere": "The lead already has an open opportunity on this business line, outside your reach: ask your manager.",
}

ZH = {
    "lead_card.error.phone_taken_elsewhere": "该号码属于您权限范围之外的名片,请联系能同时看到两张名片的主管进行合并。",
    "lead_card.error.external_id_taken_elsewhere": "该外部编号属于您权限范围之外的名片,请联系能同时看到两张名片的主管进行合并。",
    "renewal.error.line_open_elsewhere": "该名片在此业务线上已有一个进行中的商机,不在您的权限范围内,请联系您的主管。",
}
