# Статистика звонков (bot/handlers/stats.py); часы и дни по UTC.
stats-period = { $period ->
    [today] сегодня
    [yesterday] вчера
    [week] неделя
    [month] месяц
   *[other] { $period }
}
stats-title = 📊 Статистика звонков: { $period } ({ $start } – { $end }, UTC)
stats-totals = Звонков: { $calls } (входящих { $inbound }, исходящих { $outbound }, внутренних { $internal })
    Отвечено: { $answered }, пропущено: { $missed }
    Время разговоров: { $talk }; среднее время ответа: { $answer }
stats-employees-title = По сотрудникам:
stats-employee-line = { $ext } { $name }: принято { $received }, отвечено { $answered }, пропущено { $missed }, исходящих { $made }; разговор { $talk } (в среднем { $avg_talk }); ответ { $answer }
stats-no-employees = Нет сотрудников для показа.
stats-employee-card = 👤 { $ext } { $name }: { $period } ({ $start } – { $end }, UTC)
    Входящих: { $received } (отвечено { $answered }, пропущено { $missed })
    Исходящих: { $made }
    Время разговоров: { $talk } всего, { $avg_talk } в среднем
    Среднее время ответа: { $answer }
stats-groups-title = Группы обзвона: { $period } ({ $start } – { $end }, UTC):
stats-groups-empty = Нет групп для показа.
stats-group-line = { $name }: звонков { $calls }, отвечено { $answered }, пропущено { $missed }; разговор { $talk }; ответ { $answer }
stats-numbers-title = Номера компании: { $period } ({ $start } – { $end }, UTC):
stats-numbers-empty = Нет номеров для показа.
stats-number-line = { $name }: звонков { $calls } (входящих { $inbound }, исходящих { $outbound }), отвечено { $answered }, пропущено { $missed }; разговор { $talk }
stats-rating-title = 🏆 Рейтинг: { $period } — по отвеченным звонкам, затем по времени разговоров
stats-rating-chart = Рейтинг: { $period }
stats-rating-line = { $place }. { $ext } { $name } — отвечено { $answered }, разговор { $talk }
stats-seconds = { $n } с
stats-none = —
stats-btn-hour = График по часам
stats-btn-day = График по дням
stats-btn-rating = Рейтинг
stats-btn-csv = CSV
stats-btn-xlsx = XLSX
stats-chart-hour = Звонки по часам (UTC): { $period }
stats-chart-day = Звонки по дням (UTC): { $period }
stats-axis-hour = Час (UTC)
stats-axis-day = День (UTC)
stats-axis-calls = Звонки
stats-answered = Отвечено
stats-missed = Пропущено
stats-other = Исходящие без ответа
stats-talk-minutes = Разговор, минуты
stats-export-caption = Статистика звонков: { $period }, { $what }
stats-export-employees = по сотрудникам
stats-export-days = по дням
stats-export-both = по сотрудникам и по дням
err-bad_period = Неизвестный период «{ $word }». Можно: today, yesterday, week, month или ГГГГ-ММ-ДД..ГГГГ-ММ-ДД.
err-period_too_long = Слишком длинный период ({ $days } дн.): не больше { $max_days } дней.
