# Входящие сценарии: группы, меню, расписания, сценарий номера, оповещения, голосовая почта.
yes = да
no = нет
removed = Удалено: { $name }.
default-prompt = стандартная запись
button-stale = Кнопка устарела: запросите заново.
algo-sequential = по очереди
algo-cumulative = по нарастающей (прежние телефоны продолжают звонить)
algo-ring_all = всем сразу
algo-least_idle = равномерный (наиболее свободному)
algo-random = случайный выбор
algo-priority = параллельный по приоритету (по позиции в списке)
groups-empty = Групп пока нет. Создайте: /group_add sales ring_all
group-card =
    👥 Группа { $name }: { $algorithm }
    Участники: { $members }
    Интервал { $interval } с, ожидание ответа { $timeout } с, по кругу: { $cyclic }
    Если никто не ответил: { $fallback }
menus-empty = Меню пока нет. Создайте: /menu_set main 1=group:sales 2=ext:101
menu-card =
    ☎️ Меню { $name } (запись: { $prompt })
    { $options }
    Ждёт { $timeout } с, повторяет { $repeats } раз, набор внутреннего номера: { $ext }
    Нет выбора: { $on_timeout }; неверный выбор: { $on_invalid }
schedules-empty = Расписаний нет: номера работают круглосуточно. Создайте: /hours office mon-fri 09:00-18:00
day-mon = Пн
day-tue = Вт
day-wed = Ср
day-thu = Чт
day-fri = Пт
day-sat = Сб
day-sun = Вс
closed = выходной
holiday-line = Праздник { $day }
special-line = { $day }: { $hours }
open-now = Сейчас рабочее время.
closed-now = Сейчас нерабочее время.
override-open = (установлено вручную: /schedule_auto — снова по расписанию)
override-closed = (установлено вручную: /schedule_auto — снова по расписанию)
schedule-card =
    🕘 Расписание { $name }
    { $days }
    { $extra }
    { $state }
scenario-card =
    📞 { $number }
    Приветствие: { $greeting }
    Расписание: { $schedule }
    В рабочее время: { $open }
    В нерабочее время: { $closed }
    Если цель не может принять звонок: { $fallback }
alerts-card =
    🔔 О пропущенных звонках и голосовой почте сотрудники узнают в Telegram.
    Также владельцу: { $owner }
    По e-mail: { $email }
    По SMS: { $sms }
voicemail-empty = Голосовых сообщений нет.
voicemail-title = 📨 Голосовая почта (● не прослушано):
voicemail-line = { $mark }#{ $id } { $at } от { $caller } в ящик { $box }, { $duration } с
voicemail-caption = Голосовое сообщение от { $caller }, { $duration } с
err-target_syntax = «{ $value }» — не цель. Пишите ext:101, group:ИМЯ, menu:ИМЯ, queue:ИМЯ, voicemail:101|ИМЯ|common, forward:+79161234567, message:ЗАПИСЬ или hangup.
err-target_missing = { $target } в вашей компании нет: сначала создайте.
err-target_in_use = Ещё используется: { $users }. Сначала измените их.
err-forward_no_trunk = Для переадресации на телефон нужен транк с номером компании: /trunk_add, затем /number_add.
err-hours_syntax = «{ $value }» — не интервал времени: пишите 09:00-18:00, несколько через запятую, или closed.
err-hours_order = В «{ $value }» конец не позже начала.
err-days_syntax = «{ $value }» — не дни: пишите mon-fri, sat, mon,wed или all.
err-bad_date = «{ $value }» — не дата: пишите ГГГГ-ММ-ДД, например 2026-12-31.
err-bad_flag = Ответьте on или off, а не «{ $value }».
err-bad_range = { $what }: целое число от { $lo } до { $hi }.
err-bad_entity_name = «{ $name }» не годится как имя: латинские буквы, цифры, - и _, начиная с буквы (например, sales).
err-bad_algorithm = Алгоритма «{ $value }» нет. Выберите: { $known }.
err-bad_option = Параметра «{ $option }» здесь нет. Параметры: { $known }.
err-group_exists = Группа { $name } уже есть.
err-no_such_group = Группы { $name } нет: см. /groups.
err-no_such_menu = Меню { $name } нет: см. /menus.
err-no_such_schedule = Расписания { $name } нет: см. /schedules.
err-no_audio_named = Записи с именем { $name } нет: загрузите её через /audio_add.
err-no_such_voicemail = Этого сообщения нет или оно не ваше.
help-voicemail = /voicemail — голосовые сообщения для вас (▶ — прослушать)
help-scenarios = /scenarios — сценарии всех номеров; /scenario НОМЕР [open=… closed=… fallback=… schedule=… greeting=…] — что номер делает со звонками
    /groups, /group_add ИМЯ [АЛГОРИТМ], /group_members ИМЯ ВН [ВН,ВН …], /group_set ИМЯ ключ=значение …, /group_del ИМЯ — группы обзвона
    /menus, /menu_set ИМЯ prompt=ЗАПИСЬ 1=ЦЕЛЬ … timeout=5 repeats=2, /menu_del ИМЯ — голосовые меню (IVR)
    /queues, /queue_set ИМЯ group=ГРУППА max_wait=300 ring=20 callback=on fallback=ЦЕЛЬ, /queue_del ИМЯ — очереди
    /schedules, /hours ИМЯ mon-fri 09:00-18:00, /holiday ИМЯ ДАТА [off], /special_day ИМЯ ДАТА ЧАСЫ|auto, /open_now ИМЯ, /closed_now ИМЯ, /schedule_auto ИМЯ — рабочее время
    /audio, /audio_add ТИП ИМЯ — приветствия, записи меню, музыка ожидания
    /alerts [owner=on|off email=on|off sms=on|off] — кто узнаёт о пропущенных
    Цели: ext:101, group:ИМЯ, menu:ИМЯ, queue:ИМЯ, voicemail:101|ИМЯ|common, forward:+79161234567, message:ЗАПИСЬ, hangup
queues-empty = Очередей пока нет. Создайте: /queue_set support group=sales
queue-card =
    ⏳ Очередь { $name }: операторы группы { $group }, ждут сейчас: { $waiting }
    Максимальное ожидание { $max_wait } с, оператору звонит { $ring } с, позиция каждые { $announce } с
    Обратный звонок по запросу: { $callback }; после максимального ожидания: { $fallback }
calling-back = Сейчас зазвонит ваш телефон: снимите трубку, и мы наберём { $client }.
calling-back-mobile = Сейчас зазвонит ваш мобильный { $mobile }: снимите трубку, и мы наберём { $client }.
call-back-unregistered = Ваш телефон не зарегистрирован, поэтому он не зазвонит, и { $client } не набран. Включите телефон и проверьте его настройки: /my_sip.{ $mobile ->
    [none] {""}
   *[other] {" "}Или позвонить на ваш мобильный:
}
btn-ring-mobile = 📱 Позвонить на мой мобильный { $mobile }
err-no_mobile = У вас не указан мобильный номер: попросите администратора добавить его (/employee_edit EXT mobile НОМЕР).
err-no_trunk = У компании нет транка для исходящих звонков: администратор добавляет его командой /trunk_add.
err-queue_needs_group = Новой очереди нужны операторы: добавьте group=ИМЯ.
err-no_such_queue = Очереди { $name } нет: см. /queues.
err-engine_unreachable = АТС сейчас недоступна: попробуйте через минуту.
menu-scenarios = 📞 Сценарии номеров
menu-groups = 👥 Группы
menu-menus = ☎️ Голосовые меню
menu-queues = ⏳ Очереди
menu-schedules = 🕘 Расписания
menu-voicemail = 📨 Голосовая почта
