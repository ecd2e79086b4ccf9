"""Texts of the sign-in hardening: one message for every failed sign-in, the password rules
that keep a password usable, the lock on the account page, and collisions reported without
the details of a colleague's opportunity."""

EN = {
    "auth.error.sign_in_failed": "Wrong username or password, or the account cannot sign in right now. After several failed attempts, sign-in is paused for a while; if it keeps failing, ask your administrator.",
    "auth.error.password_locked": "Too many wrong passwords. Try again in {minutes} minutes.",
    "auth.error.password_too_long": "The password is too long: at most {maximum} bytes (a Chinese character counts as 3).",
    "auth.error.password_spaces": "The password may not begin or end with a space: the sign-in form drops such spaces, so it could never be used.",
    "login_detail.bad_old_password": "Wrong current password (account page)",
    "login_detail.right_password_in_burst": "Right password, but failed attempts at the same moment locked the account",
    "leads.new.collision_colleague": "This person is already followed up by a colleague; the inquiry was logged on their opportunity.",
    "lead_import.owner_colleague": "A colleague (outside your scope)",
    "notice.collision.colleague": "{by} entered a person your team already follows up (opportunity #{opportunity}); the inquiry was logged on it.",
    "notice.collision.colleagues": "{by} brought in {count} people your team already follows up; each inquiry was logged on its opportunity.",
    "auth.session_idle": "You were signed out after a while without activity. Please sign in again.",
    "settings.login.session_idle_minutes": "Sign out after this many minutes without activity",
}

ZH = {
    "auth.error.sign_in_failed": "用户名或密码错误,或该账号暂时无法登录。多次失败后将暂停登录一段时间;如仍无法登录,请联系管理员。",
    "auth.error.password_locked": "密码错误次数过多,请 {minutes} 分钟后再试。",
    "auth.error.password_too_long": "密码过长:最多 {maximum} 个字节(一个汉字按 3 个字节计)。",
    "auth.error.password_spaces": "密码的开头和结尾不能是空格:登录表单会去掉这些空格,这样的密码将永远无法使用。",
    "login_detail.bad_old_password": "当前密码错误(账号页面)",
    "login_detail.right_password_in_burst": "密码正确,但同一时刻的失败尝试已锁定该账号",
    "leads.new.collision_colleague": "此人已有同事在跟进;本次咨询已记录在其商机上。",
    "lead_import.owner_colleague": "其他同事(不在您的权限范围内)",
    "notice.collision.colleague": "{by} 录入了您团队正在跟进的客户(商机 #{opportunity}),本次咨询已记录在该商机上。",
    "notice.collision.colleagues": "{by} 导入了 {count} 位您团队正在跟进的客户,每条咨询已记录在对应商机上。",
    "auth.session_idle": "由于长时间未操作,您已退出登录,请重新登录。",
    "settings.login.session_idle_minutes": "无操作多少分钟后自动退出登录",
}
