"""Texts of the sales core: stage moves, follow-ups, trial lessons, transfer requests."""

EN = {
    "nav.section.sales": "Sales",
    "users.error.grant_discount": "You cannot grant the role {role}: its discount limit ({limit}%) is above yours.",
    "opportunity.error.closed": "Opportunity #{id} is closed (won or lost): it cannot be changed.",
    "stage.error.won_by_order": "An opportunity is won by a paid order, not by choosing the stage.",
    "stage.error.unknown": "“{stage}” is not a stage you can choose.",
    "stage.error.same": "The opportunity is already at this stage.",
    "stage.error.backwards": "Stages move forward from “{stage}”; only a manager may move an opportunity back.",
    "stage.error.trial_date": "A booked trial needs its date and time.",
    "stage.error.lost_reason": "Choose why the opportunity was lost.",
    "stage.error.lost_reason_unknown": "“{reason}” is not one of the lost reasons.",
}

ZH = {
    "nav.section.sales": "销售",
    "users.error.grant_discount": "无法授予角色 {role}：其折扣上限（{limit}%）高于您的上限。",
    "opportunity.error.closed": "商机 #{id} 已关闭（成单或流失），不能再修改。",
    "stage.error.won_by_order": "商机只能通过已付款的订单成单，不能直接选择该阶段。",
    "stage.error.unknown": "“{stage}”不是可选择的阶段。",
    "stage.error.same": "商机已经处于该阶段。",
    "stage.error.backwards": "阶段只能从“{stage}”向前推进；只有经理可以回退商机阶段。",
    "stage.error.trial_date": "约试听需要填写试听的日期和时间。",
    "stage.error.lost_reason": "请选择商机流失的原因。",
    "stage.error.lost_reason_unknown": "“{reason}”不在流失原因列表中。",
}
