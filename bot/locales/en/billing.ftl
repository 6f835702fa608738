bill-plan = 💼 Plan { $plan }: { $fee } { $cur } a month
bill-no-plan = Your company is not on a plan: nothing is limited or charged.
bill-blocked = ⛔ Service is blocked ({ $reason }).
bill-limits = Limits (used / available):
bill-limit-unlimited = • { $name }: unlimited
bill-limit = • { $name }: { $used } / { $allowance } (extra packs: { $packs })
bill-limit-up-to = • { $name }: up to { $allowance } (extra packs: { $packs })
bill-limit-extra = — more: { $price } { $cur } a month per { $step }, /buy
bill-limit-fixed = — no extras on this plan
bill-options = Options:
bill-option-included = ✅ { $name } — included
bill-option-on = ✅ { $name } — { $fee } { $cur } a month (/option { $id } off)
bill-option-off = ⬜ { $name } — { $fee } { $cur } a month (/option { $id } on)
bill-option-unavailable = ✖ { $name } — not on this plan
bill-last = Last statements:
bill-see-plans = 📋 Plans
bill-plans-title = Plans of { $title }:
bill-plans-change = Switch with /plan_change PLAN or a button below.
bill-plan-changed = ✅ Your plan is now { $plan }. Fees from today are counted per day.
bill-problem-limit = • { $kind }: { $used } in use, the plan allows { $most }: remove { $remove } first
bill-problem-option = • option { $option } is on and the plan lacks it: /option { $option } off first
bill-problem-feature = • { $what } uses { $option }, which the plan lacks: change it first
bill-option-set-on = ✅ { $name } is on; it is charged per day from today.
bill-option-set-off = ⬜ { $name } is off.
bill-bought = ✅ Added: { $name } now { $allowance }. It is on this month's statement from today.
bill-released = ✅ Gave back { $packs } pack(s) of { $name }.
bill-buy-button = ➕ Add { $name } (×{ $packs })
bill-option-button = ➕ Turn on { $name } ({ $fee } { $cur } a month)
bill-statement-title = 🧾 Statement { $month } (through { $through }):
bill-days = ({ $days }/{ $of } days)
bill-nothing = Nothing charged.
bill-total = Net { $net } + VAT { $vat } = { $gross } { $cur }
bill-pdf-title = Statement
limit-employees = employees
limit-numbers = company numbers
limit-channels = channels per number
limit-ivr_menus = voice menus
limit-ivr_levels = menu levels
limit-ring_groups = ring groups
limit-conference_rooms = conference rooms
limit-conference_participants = conference participants
limit-storage_mb = recording storage, MB
limit-storage_packs = storage packs
limit-retention_days = days recordings are kept
limit-recording_minutes = minutes of recordings kept
limit-melody_storage_mb = melody storage, MB
limit-sms = SMS a month
err-limit_buy = Your plan { $plan } includes { $included } { $kind }; more cost { $price } { $currency } a month per { $step }. Nothing was changed: add them and send the command again?
err-limit_cap = Your plan { $plan } allows at most { $allowance } { $kind }. Plans that allow { $next }: { $plans }. Nothing was changed.
err-option_off = “{ $title_en }” is a paid option ({ $price } { $currency } a month): switch it on with /option { $option } on. Nothing was changed.
err-option_unavailable = “{ $title_en }” is not available on plan { $plan }. Plans with it: { $plans }. Nothing was changed.
err-plan_change_blocked = Plan { $plan } cannot take your company as it is now:
err-bad_month = Write the month as YYYY-MM, e.g. 2026-11.
err-future_month = { $month } has not begun yet.
err-nothing_to_buy = { $kind } is not limited on your plan: nothing to buy.
err-bad_packs = Buy 1 to 100 at a time.
err-bad_release = You have { $have } extra pack(s) of { $kind }.
err-release_in_use = { $used } { $kind } are in use: remove { $remove } first.
err-no_such_option = There is no option “{ $option }”; /plan lists them.
err-option_included = “{ $option }” is included in plan { $plan }: nothing to switch.
err-no_such_plan = There is no plan “{ $plan }”. Plans: { $plans }.
err-bad_limit_kind = There is no limit “{ $kind }”; /plan lists them.
err-retention_over_plan = Your plan keeps recordings at most { $most } days; a retention option (/plan) keeps them longer.
err-no_company = That company does not exist.
help-billing =
    💼 Plan and billing (owner):
    /plan — your plan, limits, options, this month so far
    /plans — the plans on offer; /plan_change PLAN
    /option OPTION on|off — paid options
    /buy LIMIT [PACKS] · /release LIMIT [PACKS] — extras
    /sms_renew on|off — buy the next SMS pack by itself
    /statement [YYYY-MM] [csv|pdf] — a month's statement
menu-plan = 💼 Plan
err-bad_block_reason = The block reason is one of: customer, operator, nonpayment, none.
bill-history = Changes this month:
bill-ch-plan = plan { $plan }
bill-ch-plan-off = left plan { $plan }
bill-ch-extra = { $name }: { $packs } extra pack(s)
bill-ch-option = option { $option } { $on }
bill-ch-block = blocked ({ $reason })
bill-ch-unblock = unblocked
bill-sms-renew = { $on ->
    [on]   ↻ when these run out, the next SMS pack is bought by itself (/sms_renew off to stop)
   *[off]  ↻ when these run out, SMS alerts stop until next month or /buy sms (/sms_renew on)
}
bill-sms-renew-set = { $on ->
    [on]   ✅ The next SMS pack will be bought by itself when this month's run out.
   *[off]  ✅ No more automatic SMS packs: when this month's run out, alerts go by Telegram and e-mail only.
}
