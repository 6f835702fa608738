recording-card =
    🎙 Запись разговоров: { $mode }
    Уведомление «разговор записывается»: { $notice }
    Сотрудники могут слушать свои разговоры: { $employees }
    Правила выборочной записи: { $rules }
recording-mode-off = выключена
recording-mode-all = все звонки
recording-mode-selective = выбранные сотрудники, группы и номера
recording-no-rules = нет
storage-card =
    💾 Записи: занято { $used } из { $quota } ГБ (дополнительных пакетов по 5 ГБ: { $packs }), файлов: { $files }, { $hours } ч
    Добавлять пакет автоматически при заполнении: { $auto }
    Срок хранения: { $days } дн.
storage-minutes = Лимит: { $minutes } минут записей
storage-event = { $at } { $what }
storage-event-pack_added = автоматически добавлено пакетов: { $count }
storage-event-pack_removed = убрано пакетов: { $count }
storage-event-quota_deleted = хранилище заполнено: удалено старых записей: { $count } ({ $mb } МБ)
storage-event-retention_deleted = удалено записей с истёкшим сроком хранения: { $count } ({ $mb } МБ)
storage-event-quota_full = хранилище заполнено
recordings-empty = Подходящих записей нет.
recordings-title = 🎙 Записи, время { $zone } (нажмите номер, чтобы прослушать):
recording-line = { $n }. { $when } { $direction } { $caller } → { $callee }, { $seconds } с
recording-caption = Звонок #{ $call } { $caller } → { $callee }, { $when }, { $seconds } с
call-listen = ▶ Прослушать запись
err-bad_recording_mode = Неизвестный режим «{ $value }»: укажите all, selective или off.
err-bad_rule_kind = Неизвестное правило «{ $value }»: укажите employee, group или number.
err-bad_rule_direction = Неизвестное направление «{ $value }»: укажите in, out или both.
err-no_such_rule = Правила записи для { $name } нет.
err-no_such_rule_target = В вашей компании нет { $kind } «{ $name }».
err-no_such_recording = Такой записи нет.
err-recording_off = Запись разговоров выключена. Записи хранятся до конца срока хранения; включите запись (/recording mode=all), чтобы снова их слушать.
err-recordings_not_allowed = В этой компании сотрудникам нельзя слушать записи. Обратитесь к владельцу (/recording employees=on).
help-stats = /stats [today|yesterday|week|month|ГГГГ-ММ-ДД..ГГГГ-ММ-ДД] — статистика звонков с графиками и CSV/XLSX; /now — звонки и телефоны прямо сейчас
help-recordings = /recordings [фильтры как в /calls] — записи разговоров; /recordings_zip [фильтры] — все записи одним ZIP
help-recording-setup = /recording [mode=all|selective|off notice=on|off employees=on|off] — запись разговоров; /record_rule add|remove employee EXT [in|out|both] | group ИМЯ | number N; /storage [packs=N auto_pack=on|off retention=ДНИ]
menu-recordings = 🎙 Записи
menu-stats = 📊 Статистика
