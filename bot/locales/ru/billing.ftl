bill-plan = 💼 Тариф { $plan }: { $fee } { $cur } в месяц
bill-no-plan = Компания не на тарифе: ничего не ограничено и не начисляется.
bill-blocked = ⛔ Обслуживание заблокировано ({ $reason }).
bill-limits = Лимиты (занято / доступно):
bill-limit-unlimited = • { $name }: без ограничений
bill-limit = • { $name }: { $used } / { $allowance } (докуплено пакетов: { $packs })
bill-limit-up-to = • { $name }: до { $allowance } (докуплено пакетов: { $packs })
bill-limit-extra = — сверх: { $price } { $cur } в месяц за { $step }, /buy
bill-limit-fixed = — на этом тарифе не докупается
bill-options = Опции:
bill-option-included = ✅ { $name } — входит в тариф
bill-option-on = ✅ { $name } — { $fee } { $cur } в месяц (/option { $id } off)
bill-option-off = ⬜ { $name } — { $fee } { $cur } в месяц (/option { $id } on)
bill-option-unavailable = ✖ { $name } — недоступно на этом тарифе
bill-last = Последние счета:
bill-see-plans = 📋 Тарифы
bill-plans-title = Тарифы «{ $title }»:
bill-plans-change = Сменить: /plan_change ТАРИФ или кнопкой ниже.
bill-plan-changed = ✅ Ваш тариф теперь { $plan }. С сегодняшнего дня плата считается посуточно.
bill-problem-limit = • { $kind }: используется { $used }, тариф позволяет { $most }: сначала удалите { $remove }
bill-problem-option = • опция { $option } включена, а в тарифе её нет: сначала /option { $option } off
bill-problem-feature = • { $what } использует { $option }, которого нет в тарифе: сначала измените это
bill-option-set-on = ✅ «{ $name }» включена; плата посуточно с сегодняшнего дня.
bill-option-set-off = ⬜ «{ $name }» выключена.
bill-bought = ✅ Добавлено: { $name } теперь { $allowance }. В счёте этого месяца — с сегодняшнего дня.
bill-released = ✅ Возвращено пакетов «{ $name }»: { $packs }.
bill-buy-button = ➕ Добавить: { $name } (×{ $packs })
bill-option-button = ➕ Подключить: { $name } ({ $fee } { $cur } в месяц)
bill-statement-title = 🧾 Счёт за { $month } (по { $through }):
bill-days = ({ $days }/{ $of } дн.)
bill-nothing = Начислений нет.
bill-total = Без НДС { $net } + НДС { $vat } = { $gross } { $cur }
bill-pdf-title = Счёт
limit-employees = сотрудники
limit-numbers = номера компании
limit-channels = каналы на номер
limit-ivr_menus = голосовые меню
limit-ivr_levels = уровни меню
limit-ring_groups = группы обзвона
limit-conference_rooms = конференц-комнаты
limit-conference_participants = участники конференции
limit-storage_mb = хранилище записей, МБ
limit-storage_packs = пакеты хранилища
limit-retention_days = дни хранения записей
limit-recording_minutes = минуты хранимых записей
limit-melody_storage_mb = хранилище мелодий, МБ
limit-sms = SMS в месяц
err-limit_buy = Ваш тариф { $plan } включает { $included } ({ $kind }); сверх — { $price } { $currency } в месяц за { $step }. Ничего не изменено: добавить и повторить команду?
err-limit_cap = Ваш тариф { $plan } позволяет не больше { $allowance } ({ $kind }). Тарифы, где можно { $next }: { $plans }. Ничего не изменено.
err-option_off = «{ $title_ru }» — платная опция ({ $price } { $currency } в месяц): включите её командой /option { $option } on. Ничего не изменено.
err-option_unavailable = «{ $title_ru }» недоступно на тарифе { $plan }. Тарифы с этой функцией: { $plans }. Ничего не изменено.
err-plan_change_blocked = Тариф { $plan } не подходит компании в её нынешнем виде:
err-bad_month = Укажите месяц в виде ГГГГ-ММ, например 2026-11.
err-future_month = { $month } ещё не наступил.
err-nothing_to_buy = { $kind }: на вашем тарифе без ограничений, докупать нечего.
err-bad_packs = Докупать можно от 1 до 100 за раз.
err-bad_release = У вас докуплено пакетов «{ $kind }»: { $have }.
err-release_in_use = Используется { $used } ({ $kind }): сначала удалите { $remove }.
err-no_such_option = Опции «{ $option }» нет; список — в /plan.
err-option_included = «{ $option }» входит в тариф { $plan }: переключать нечего.
err-no_such_plan = Тарифа «{ $plan }» нет. Тарифы: { $plans }.
err-bad_limit_kind = Лимита «{ $kind }» нет; список — в /plan.
err-retention_over_plan = На вашем тарифе записи хранятся не дольше { $most } дн.; дольше — с опцией хранения (/plan).
err-no_company = Такой компании нет.
help-billing =
    💼 Тариф и оплата (владелец):
    /plan — тариф, лимиты, опции, начислено за месяц
    /plans — тарифы; /plan_change ТАРИФ
    /option ОПЦИЯ on|off — платные опции
    /buy ЛИМИТ [ПАКЕТЫ] · /release ЛИМИТ [ПАКЕТЫ] — докупка
    /sms_renew on|off — автопродление пакетов SMS
    /statement [ГГГГ-ММ] [csv|pdf] — счёт за месяц
menu-plan = 💼 Тариф
err-bad_block_reason = Причина блокировки: customer, operator, nonpayment или none.
bill-history = Изменения за месяц:
bill-ch-plan = тариф { $plan }
bill-ch-plan-off = тариф { $plan } отключён
bill-ch-extra = { $name }: докуплено пакетов { $packs }
bill-ch-option = опция { $option } { $on ->
    [on] включена
   *[off] выключена
}
bill-ch-block = блокировка ({ $reason })
bill-ch-unblock = блокировка снята
bill-sms-renew = { $on ->
    [on]   ↻ когда SMS закончатся, следующий пакет докупится сам (/sms_renew off — отключить)
   *[off]  ↻ когда SMS закончатся, SMS-уведомления остановятся до следующего месяца или /buy sms (/sms_renew on)
}
bill-sms-renew-set = { $on ->
    [on]   ✅ Когда SMS за месяц закончатся, следующий пакет докупится автоматически.
   *[off]  ✅ Автопродление SMS отключено: когда пакет закончится, уведомления пойдут только в Telegram и на почту.
}
