welcome-unknown = Hello! This bot runs your company's phone system.
    • Employees join with the invite link their administrator sends them.
    • Or create a new company and become its owner.
btn-create-company = Create a company
ask-company-name = What is your company called?
ask-timezone = Which time zone is the company in? Choose or type one (e.g. Europe/Moscow).
ask-language = Which language should I use?
company-created = Company “{ $name }” is ready. Your SIP domain: { $domain }.
    Add employees with /employee_add, then send each one an invite with /invite.
welcome-back = Welcome back! Your role: { $role }. /help lists what you can do.
joined = You have joined { $company } as { $role }. Use /my_sip to get your phone's settings.
help-title = Commands for your role ({ $role }):
help-common = /menu — buttons for everything below; /help — this list
    /language en|ru — switch language
help-employee = /my_sip — my SIP login and a new password (private chat only)
    /my_calls — my recent calls; /my_missed — my missed calls
    /dnd on|off — do not disturb
    /forward off|always|unregistered [mobile] — forward my calls to my mobile
help-staff = /employees — employees and who is online
    /calls [in|out|internal|missed] [today|yesterday|week|month|YYYY-MM-DD..YYYY-MM-DD] [ext N] [group NAME] [number N] [client N] — call history; /missed
help-admin = /employee_add Name [ext] [e-mail] [mobile] — add an employee
    /invite EXT [employee|supervisor|admin] — invite link for an employee
    /employee_edit EXT name|email|mobile VALUE — change an employee
    /employee_remove EXT, /employee_disable EXT, /employee_enable EXT
help-owner = /audit — who changed what
employees-title = Employees ({ $count }):
employees-empty = No employees yet. Add one: /employee_add Ivan Petrov
employee-line = { $ext } — { $name }{ $online ->
    [yes] {" "}🟢 online
   *[no] {" "}⚪ offline
}{ $oncall ->
    [yes] {" 📞 on a call"}
   *[no] {""}
}{ $enabled ->
    [yes] {""}
   *[no] {" "}(disabled)
}
employee-added = Added { $name } with extension { $ext }. Send them an invite: /invite { $ext }
employee-removed = Removed { $name } (ext { $ext }).
employee-enabled = Extension { $ext } is { $on ->
    [yes] enabled
   *[no] disabled
}.
invite-link = Invite for { $name } (ext { $ext }, role { $role }), valid until { $until }:
    { $link }
sip-credentials = Your phone settings (keep them private; the previous password no longer works):
    Login: { $login }
    Password: { $password }
    Domain: { $domain }
    Registrar / proxy: { $registrar }
sip-private-only = For your safety I send SIP passwords only in a private chat with me.
dnd-set = Do not disturb is { $on ->
    [yes] on: callers hear busy
   *[no] off
}.
forward-set = { $mode ->
    [off] Forwarding is off.
    [always] All your calls go to { $mobile }.
   *[unregistered] Your calls go to { $mobile } when no phone of yours is registered.
}
calls-title = Recent calls ({ $zone }):
calls-empty = No calls yet.
call-line = { $when } { $direction ->
    [inbound] ⬇
    [outbound] ⬆
   *[internal] ↔
} { $caller } → { $callee } — { $result }
call-result = { $result ->
    [answered] answered, { $talk } s
    [missed] missed
    [busy] busy
    [no_answer] no answer
    [voicemail] voicemail
   *[failed] failed
}
audit-title = Recent changes ({ $zone }):
audit-empty = No changes recorded yet.
audit-line = { $when } { $who }: { $action } { $target }: { $old } → { $new }
language-set = Language: English.
usage = Usage: { $usage }
not-member = You are not in a company yet. Open the invite link from your administrator, or /start to create a company.
err-generic = Could not do that: { $detail }
err-forbidden = { $who ->
    [owner] Only the company owner can do this.
   *[admin] Your role does not allow this: ask an admin or the owner.
}
err-already_member = You already belong to a company.
err-invite_invalid = This invite link is invalid, already used or expired. Ask your administrator for a new one.
err-no_profile = You have no phone profile in this company.
err-no_such_ext = There is no employee with extension { $ext }.
err-bad_forward_mode = Choose off, always or unregistered.
err-need_mobile = Give your mobile number first, e.g. /forward always +79161234567
err-bad_language = Choose en or ru.
err-name_empty = The name is empty: give a name.
err-name_too_long = The name is too long: at most { $max } characters.
err-bad_timezone = Unknown time zone “{ $tz }”: use a name such as Europe/Moscow.
err-bad_ext = “{ $ext }” is not a valid extension: use 2–5 digits not starting with 0, e.g. 105.
err-ext_taken = Extension { $ext } is already taken: choose another or leave it out.
err-no_free_ext = No free extension is left: choose one explicitly.
err-bad_number = “{ $number }” is not a valid phone number: use digits, e.g. +74951234567.
err-bad_host = “{ $host }” is not a full host name: give the carrier's name with its domain (e.g. sip.carrier.example) or its IP address.
err-bad_carrier_address = { $address } cannot be a carrier's address (this machine, the PBX itself or a special address): give the address your carrier sends calls from.
err-bad_email = “{ $email }” is not a valid e-mail address.
err-internal = Something went wrong on our side; nothing was changed. Please try again.
role-owner = owner
role-admin = admin
role-supervisor = supervisor
role-employee = employee
trunks-title = Trunks:
trunks-empty = No trunks yet. Add one: /trunk_add main sip.carrier.example LOGIN PASSWORD
trunk-line = #{ $id } { $name } — { $host } — { $status }
trunk-ip = IP-authenticated ({ $ips })
trunk-pending = registering…
trunk-state = { $ok ->
    [yes] ✅ registered
   *[no] ❌ not registered ({ $status })
}
trunk-added = Trunk #{ $id } “{ $name }” added. /trunks shows its state.
numbers-title = Company numbers:
numbers-empty = No numbers yet. Add one: /number_add +74951234567 TRUNK_ID EXT
number-line = { $number } → { $ext } (trunk #{ $trunk })
number-added = Calls to { $number } now ring { $ext }.
help-numbers = /trunks, /trunk_add NAME HOST[:PORT] LOGIN PASSWORD (or: ip [IP …]) — carrier trunks
    /numbers, /number_add NUMBER TRUNK_ID EXT, /number_route NUMBER EXT — company numbers
call-card = Call #{ $id } ({ $direction })
    { $caller } → { $callee }
    Started: { $started }
    Result: { $result } ({ $cause })
    Waited { $wait } s, talked { $talk } s
    Number: { $number }, trunk: { $trunk }
err-bad_filter = Unknown filter “{ $word }”. Use: in, out, internal, missed, today, yesterday, week, month, YYYY-MM-DD..YYYY-MM-DD, ext N, group NAME, number N, client N.
err-no_such_call = There is no such call.
sip-qr = Your SIP account as a QR code (scan it in the softphone, keep it private).
employee-edited = { $ext } — { $name }, e-mail { $email }, mobile { $mobile }.
err-bad_field = Choose name, email or mobile.
err-mobile_in_use = Forwarding to this mobile is on: turn it off first (/forward off).
menu-title = What would you like to do?
menu-employees = 👥 Employees
menu-calls = 📞 Calls
menu-missed = ❗ Missed
menu-my-calls = 📒 My calls
menu-my-sip = 🔑 My SIP account
menu-dnd-on = 🔕 Do not disturb
menu-dnd-off = 🔔 Available
menu-help = ❓ Help
not-understood = I did not understand that. /help lists the commands, /menu shows buttons.
answer-expected = Please answer the question above with text (or /start to begin again).
button-expired = This button is no longer active.
err-no_such_trunk = There is no trunk #{ $trunk } in your company: see /trunks.
err-no_such_number = { $number } is not one of your company's numbers: see /numbers.
err-number_ours = { $number } is already one of your numbers: to send it elsewhere use /number_route.
err-number_taken = { $number } belongs to another company: check the number.
