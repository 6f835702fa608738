welcome-unknown = Здравствуйте! Этот бот управляет телефонией вашей компании.
    • Сотрудники подключаются по ссылке-приглашению от администратора.
    • Или создайте новую компанию и станьте её владельцем.
btn-create-company = Создать компанию
ask-company-name = Как называется ваша компания?
ask-timezone = В каком часовом поясе работает компания? Выберите или напишите (например, Europe/Moscow).
ask-language = На каком языке с вами общаться?
company-created = Компания «{ $name }» готова. Ваш SIP-домен: { $domain }.
    Добавьте сотрудников командой /employee_add и отправьте каждому приглашение через /invite.
welcome-back = С возвращением! Ваша роль: { $role }. /help — что вы можете сделать.
joined = Вы подключены к компании «{ $company }», роль: { $role }. Настройки телефона — /my_sip.
help-title = Команды для вашей роли ({ $role }):
help-common = /menu — кнопки для всего, что ниже; /help — этот список
    /language en|ru — сменить язык
help-employee = /my_sip — мой SIP-логин и новый пароль (только в личном чате)
    /my_calls — мои последние звонки; /my_missed — мои пропущенные
    /dnd on|off — не беспокоить
    /forward off|always|unregistered [мобильный] — переадресация на мобильный
help-staff = /employees — сотрудники и кто в сети
    /calls [in|out|internal|missed] [today|yesterday|week|month|ГГГГ-ММ-ДД..ГГГГ-ММ-ДД] [ext N] [group ИМЯ] [number N] [client N] — история звонков; /missed
help-admin = /employee_add Имя [внутр. номер] [e-mail] [мобильный] — добавить сотрудника
    /invite НОМЕР [employee|supervisor|admin] — ссылка-приглашение
    /employee_edit НОМЕР name|email|mobile ЗНАЧЕНИЕ — изменить сотрудника
    /employee_remove НОМЕР, /employee_disable НОМЕР, /employee_enable НОМЕР
help-owner = /audit — кто что менял
employees-title = Сотрудники ({ $count }):
employees-empty = Сотрудников пока нет. Добавьте: /employee_add Иван Петров
employee-line = { $ext } — { $name }{ $online ->
    [yes] {" "}🟢 в сети
   *[no] {" "}⚪ не в сети
}{ $oncall ->
    [yes] {" 📞 разговаривает"}
   *[no] {""}
}{ $enabled ->
    [yes] {""}
   *[no] {" "}(отключён)
}
employee-added = Добавлен { $name }, внутренний номер { $ext }. Отправьте приглашение: /invite { $ext }
employee-removed = Удалён { $name } (номер { $ext }).
employee-enabled = Номер { $ext } { $on ->
    [yes] включён
   *[no] отключён
}.
invite-link = Приглашение для { $name } (номер { $ext }, роль { $role }), действует до { $until }:
    { $link }
sip-credentials = Настройки вашего телефона (никому не сообщайте; прежний пароль больше не действует):
    Логин: { $login }
    Пароль: { $password }
    Домен: { $domain }
    Регистратор / прокси: { $registrar }
sip-private-only = Ради безопасности SIP-пароль я отправляю только в личном чате со мной.
dnd-set = Режим «не беспокоить» { $on ->
    [yes] включён: звонящие слышат «занято»
   *[no] выключен
}.
forward-set = { $mode ->
    [off] Переадресация выключена.
    [always] Все ваши звонки идут на { $mobile }.
   *[unregistered] Звонки идут на { $mobile }, когда ни один ваш телефон не зарегистрирован.
}
calls-title = Последние звонки ({ $zone }):
calls-empty = Звонков пока нет.
call-line = { $when } { $direction ->
    [inbound] ⬇
    [outbound] ⬆
   *[internal] ↔
} { $caller } → { $callee } — { $result }
call-result = { $result ->
    [answered] отвечен, { $talk } с
    [missed] пропущен
    [busy] занято
    [no_answer] нет ответа
    [voicemail] голосовая почта
   *[failed] не состоялся
}
audit-title = Последние изменения ({ $zone }):
audit-empty = Изменений пока нет.
audit-line = { $when } { $who }: { $action } { $target }: { $old } → { $new }
language-set = Язык: русский.
usage = Использование: { $usage }
not-member = Вы ещё не в компании. Откройте ссылку-приглашение от администратора или нажмите /start, чтобы создать компанию.
err-generic = Не получилось: { $detail }
err-forbidden = { $who ->
    [owner] Это может только владелец компании.
   *[admin] Ваша роль не позволяет это сделать: обратитесь к администратору или владельцу.
}
err-already_member = Вы уже состоите в компании.
err-invite_invalid = Ссылка-приглашение недействительна, уже использована или истекла. Попросите у администратора новую.
err-no_profile = У вас нет телефонного профиля в этой компании.
err-no_such_ext = Сотрудника с номером { $ext } нет.
err-bad_forward_mode = Выберите off, always или unregistered.
err-need_mobile = Сначала укажите мобильный, например: /forward always +79161234567
err-bad_language = Выберите en или ru.
err-name_empty = Имя пустое: укажите имя.
err-name_too_long = Имя слишком длинное: не больше { $max } символов.
err-bad_timezone = Неизвестный часовой пояс «{ $tz }»: укажите, например, Europe/Moscow.
err-bad_ext = «{ $ext }» — неверный внутренний номер: 2–5 цифр, не с нуля, например 105.
err-ext_taken = Номер { $ext } уже занят: выберите другой или не указывайте его.
err-no_free_ext = Свободных номеров не осталось: укажите номер явно.
err-bad_number = «{ $number }» — неверный телефонный номер: используйте цифры, например +74951234567.
err-bad_host = «{ $host }» — неполное имя хоста: укажите имя сервера оператора с доменом (например, sip.carrier.example) или его IP-адрес.
err-bad_carrier_address = { $address } не может быть адресом оператора (это сама АТС, этот сервер или служебный адрес): укажите адрес, с которого оператор присылает звонки.
err-bad_email = «{ $email }» — неверный адрес e-mail.
err-internal = У нас что-то пошло не так; ничего не изменено. Попробуйте ещё раз.
role-owner = владелец
role-admin = администратор
role-supervisor = супервайзер
role-employee = сотрудник
trunks-title = Транки:
trunks-empty = Транков пока нет. Добавьте: /trunk_add main sip.carrier.example ЛОГИН ПАРОЛЬ
trunk-line = #{ $id } { $name } — { $host } — { $status }
trunk-ip = авторизация по IP ({ $ips })
trunk-pending = регистрируется…
trunk-state = { $ok ->
    [yes] ✅ зарегистрирован
   *[no] ❌ не зарегистрирован ({ $status })
}
trunk-added = Транк #{ $id } «{ $name }» добавлен. Состояние — /trunks.
numbers-title = Номера компании:
numbers-empty = Номеров пока нет. Добавьте: /number_add +74951234567 ID_ТРАНКА ВНУТР_НОМЕР
number-line = { $number } → { $ext } (транк #{ $trunk })
number-added = Звонки на { $number } теперь идут на { $ext }.
help-numbers = /trunks, /trunk_add ИМЯ ХОСТ[:ПОРТ] ЛОГИН ПАРОЛЬ (или: ip [IP …]) — транки операторов
    /numbers, /number_add НОМЕР ID_ТРАНКА ВНУТР_НОМЕР, /number_route НОМЕР ВНУТР_НОМЕР — номера компании
call-card = Звонок #{ $id } ({ $direction })
    { $caller } → { $callee }
    Начало: { $started }
    Итог: { $result } ({ $cause })
    Ожидание { $wait } с, разговор { $talk } с
    Номер: { $number }, транк: { $trunk }
err-bad_filter = Неизвестный фильтр «{ $word }». Можно: in, out, internal, missed, today, yesterday, week, month, ГГГГ-ММ-ДД..ГГГГ-ММ-ДД, ext N, group ИМЯ, number N, client N.
err-no_such_call = Такого звонка нет.
sip-qr = Ваш SIP-аккаунт QR-кодом (отсканируйте в софтфоне, никому не показывайте).
employee-edited = { $ext } — { $name }, e-mail { $email }, мобильный { $mobile }.
err-bad_field = Выберите name, email или mobile.
err-mobile_in_use = На этот мобильный включена переадресация: сначала выключите её (/forward off).
menu-title = Что сделать?
menu-employees = 👥 Сотрудники
menu-calls = 📞 Звонки
menu-missed = ❗ Пропущенные
menu-my-calls = 📒 Мои звонки
menu-my-sip = 🔑 Мой SIP-аккаунт
menu-dnd-on = 🔕 Не беспокоить
menu-dnd-off = 🔔 На связи
menu-help = ❓ Помощь
not-understood = Не понял. Команды — /help, кнопки — /menu.
answer-expected = Ответьте, пожалуйста, текстом на вопрос выше (или /start, чтобы начать заново).
button-expired = Эта кнопка больше не действует.
err-no_such_trunk = Транка #{ $trunk } в вашей компании нет: см. /trunks.
err-no_such_number = { $number } — не номер вашей компании: см. /numbers.
err-number_ours = { $number } уже ваш номер: чтобы направить его на другой, используйте /number_route.
err-number_taken = { $number } принадлежит другой компании: проверьте номер.
