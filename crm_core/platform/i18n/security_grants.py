"""Texts of the grant checks: a role's reach from a unit, role edits, unit moves."""

EN: dict[str, str] = {
    "users.error.grant_reach": "You cannot give the role {role} to someone in {unit}: from there it would reach data outside your own scope.",
    "roles.error.builtin_admin_only": "Only an administrator can change the built-in role {code}: it is held across the whole company.",
    "roles.error.holders_outside": "You cannot change the role {code}: {count} of the people who hold it are outside your scope.",
    "org.error.move_reach": "You cannot move {unit}: {count} of the units in it are outside your scope, and they would move with it.",
    "roster.reason.role_reach": "In this unit the account's role {role} would reach data outside your scope.",
}

ZH: dict[str, str] = {
    "users.error.grant_reach": "无法将角色 {role} 授予「{unit}」中的人员：在该组织下，此角色可访问的数据会超出您自己的数据范围。",
    "roles.error.builtin_admin_only": "内置角色 {code} 由全公司共用，只有管理员可以修改。",
    "roles.error.holders_outside": "无法修改角色 {code}：持有该角色的人员中有 {count} 人不在您的数据范围内。",
    "org.error.move_reach": "无法移动「{unit}」：其下有 {count} 个组织不在您的数据范围内，它们会随之一起移动。",
    "roster.reason.role_reach": "调入该组织后，此账号的角色 {role} 可访问的数据会超出您的数据范围。",
}
