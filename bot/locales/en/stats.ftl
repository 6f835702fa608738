# Call statistics (bot/handlers/stats.py); hours and days are UTC.
stats-period = { $period ->
    [today] today
    [yesterday] yesterday
    [week] week
    [month] month
   *[other] { $period }
}
stats-title = 📊 Call statistics, { $period } ({ $start } – { $end }, UTC)
stats-totals = Calls: { $calls } (in { $inbound }, out { $outbound }, internal { $internal })
    Answered: { $answered }, missed: { $missed }
    Talk time: { $talk }; average answer: { $answer }
stats-employees-title = By employee:
stats-employee-line = { $ext } { $name }: received { $received }, answered { $answered }, missed { $missed }, made { $made }; talk { $talk } (avg { $avg_talk }); answer { $answer }
stats-no-employees = No employees to show.
stats-employee-card = 👤 { $ext } { $name }, { $period } ({ $start } – { $end }, UTC)
    Received: { $received } (answered { $answered }, missed { $missed })
    Made: { $made }
    Talk time: { $talk } total, { $avg_talk } on average
    Average answer time: { $answer }
stats-groups-title = Ring groups, { $period } ({ $start } – { $end }, UTC):
stats-groups-empty = No ring groups to show.
stats-group-line = { $name }: calls { $calls }, answered { $answered }, missed { $missed }; talk { $talk }; answer { $answer }
stats-numbers-title = Company numbers, { $period } ({ $start } – { $end }, UTC):
stats-numbers-empty = No company numbers to show.
stats-number-line = { $name }: calls { $calls } (in { $inbound }, out { $outbound }), answered { $answered }, missed { $missed }; talk { $talk }
stats-rating-title = 🏆 Rating, { $period }: answered calls, then talk time
stats-rating-chart = Rating, { $period }
stats-rating-line = { $place }. { $ext } { $name } — answered { $answered }, talk { $talk }
stats-seconds = { $n } s
stats-none = —
stats-btn-hour = Chart by hour
stats-btn-day = Chart by day
stats-btn-rating = Rating
stats-btn-csv = CSV
stats-btn-xlsx = XLSX
stats-chart-hour = Calls by hour (UTC), { $period }
stats-chart-day = Calls by day (UTC), { $period }
stats-axis-hour = Hour of day (UTC)
stats-axis-day = Day (UTC)
stats-axis-calls = Calls
stats-answered = Answered
stats-missed = Missed
stats-other = Outgoing, not answered
stats-talk-minutes = Talk, minutes
stats-export-caption = Call statistics, { $period }: { $what }
stats-export-employees = employees
stats-export-days = by day
stats-export-both = employees and by day
err-bad_period = Unknown period “{ $word }”. Use: today, yesterday, week, month or YYYY-MM-DD..YYYY-MM-DD.
err-period_too_long = The period is too long ({ $days } days): at most { $max_days } days.
